import type { Policy } from "../policy/schema/index.js";
import { SANDBOX_HOME } from "./native/mount-plan.js";

/**
 * Variables that change which program runs or what it loads (PATH and loader hijacks, interpreter
 * start-up hooks, git/npm/make/cargo executors, shell start-up and prompt hooks, pagers and
 * editors). The caller may set a variable only when `execution.caller_env_allow` names it, or when
 * the safe default set (`commands.env_assign_allow`, the same names a command line may assign
 * inline) names it and it is not in this list. Everything else is refused: fail closed.
 */
export const DENIED_CALLER_ENV: readonly string[] = [
  "PATH",
  "HOME",
  "SHELL",
  "TMPDIR",
  "LD_*",
  "DYLD_*",
  "NODE_*",
  "NPM_CONFIG_*",
  "YARN_*",
  "PNPM_*",
  "COREPACK_*",
  "BASH_ENV",
  "ENV",
  "BASH_FUNC_*",
  "BASHOPTS",
  "SHELLOPTS",
  "IFS",
  "PS1",
  "PS2",
  "PS4",
  "PROMPT_COMMAND",
  "CDPATH",
  "GLOBIGNORE",
  "ZDOTDIR",
  "PYTHON*",
  "PIP_*",
  "VIRTUAL_ENV",
  "CONDA_*",
  "PERL*",
  "RUBY*",
  "GEM_*",
  "BUNDLE_*",
  "GIT_*",
  "SSH_*",
  "SUDO_*",
  "EDITOR",
  "VISUAL",
  "PAGER",
  "MANPAGER",
  "LESS*",
  "BROWSER",
  "MAKEFLAGS",
  "MFLAGS",
  "MAKEFILES",
  "CC",
  "CXX",
  "CPP",
  "LD",
  "AR",
  "CARGO_*",
  "RUSTC*",
  "RUSTFLAGS",
  "RUSTDOCFLAGS",
  "GO*",
  "CGO_*",
  "JAVA_TOOL_OPTIONS",
  "_JAVA_OPTIONS",
  "JDK_JAVA_OPTIONS",
  "CLASSPATH",
  "MAVEN_OPTS",
  "GRADLE_OPTS",
  "DOTNET_*",
  "COMPlus_*",
  "LUA_*",
  "TCL*",
  "R_*",
  "OPENSSL_*",
  "SSL_CERT_*",
  "CURL_*",
  "HTTP_PROXY",
  "HTTPS_PROXY",
  "ALL_PROXY",
  "NO_PROXY",
  "GCONV_PATH",
  "LOCPATH",
  "MALLOC_*",
  "GLIBC_TUNABLES",
  "XDG_*",
  "TERMINFO*",
];

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Case-insensitive glob match with `*` only (variable names). */
export function envNameMatches(pattern: string, name: string): boolean {
  return envNamePattern(pattern).test(name);
}

function envNamePattern(pattern: string): RegExp {
  return new RegExp("^" + pattern.split("*").map(escape).join(".*") + "$", "i");
}

/** Whether a name matches any of `patterns` (each compiled once here, not once per name). */
function anyEnvName(patterns: readonly string[]): (name: string) => boolean {
  const res = patterns.map(envNamePattern);
  return (name) => res.some((re) => re.test(name));
}

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

export type EnvResult = { ok: true; env: Record<string, string> } | { ok: false; rule: string; reason: string };

/**
 * The environment of one command: the server's variables matching `env_allow`, then `env_set`,
 * then the caller's (checked), then the values the server fixes (PATH = the trusted path, HOME =
 * the sandbox's empty home). The caller's PATH is never used to find programs.
 * Callers may not set a variable unless allowed (see DENIED_CALLER_ENV).
 */
export function buildCommandEnv(policy: Policy, caller: Record<string, string> | undefined, serverEnv: NodeJS.ProcessEnv, home = SANDBOX_HOME): EnvResult {
  const exec = policy.execution;
  const env: Record<string, string> = {};
  // The server's ~40 variables against every allow glob: compiled once (a RegExp per pair cost 0.35 ms a command).
  const serverAllowed = anyEnvName(exec.env_allow);
  const callerAllowed = anyEnvName(exec.caller_env_allow);
  for (const [name, value] of Object.entries(serverEnv)) {
    if (value !== undefined && serverAllowed(name)) env[name] = value;
  }
  Object.assign(env, exec.env_set);
  for (const [name, value] of Object.entries(caller ?? {})) {
    if (!NAME.test(name)) return { ok: false, rule: "execution.env.name", reason: "an environment variable name is not a valid identifier" };
    const explicitlyAllowed = callerAllowed(name);
    // An exact name in the safe set is taken as written (NODE_ENV, GIT_AUTHOR_NAME); a glob there
    // (LC_*, or a careless `*`) never opens a name from the deny list.
    const safeSet = policy.commands.env_assign_allow;
    const safeDefault =
      safeSet.some((p) => !p.includes("*") && p.toUpperCase() === name.toUpperCase()) ||
      (safeSet.some((p) => envNameMatches(p, name)) && !DENIED_CALLER_ENV.some((p) => envNameMatches(p, name)));
    if (!explicitlyAllowed && !safeDefault) {
      return { ok: false, rule: "execution.env.denied", reason: `the caller may not set ${name}; allow it with execution.caller_env_allow` };
    }
    if (value.includes("\0")) return { ok: false, rule: "execution.env.value", reason: `the value of ${name} contains a NUL byte` };
    env[name] = value;
  }
  if (!callerAllowed("PATH") || caller?.PATH === undefined) env.PATH = policy.commands.trusted_path.join(":");
  if (!callerAllowed("HOME") || caller?.HOME === undefined) env.HOME = home;
  return { ok: true, env };
}
