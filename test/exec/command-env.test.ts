import { describe, expect, it } from "vitest";
import { buildCommandEnv, envNameMatches } from "../../src/exec/command-env.js";
import { testPolicy } from "./support.js";

describe("buildCommandEnv", () => {
  const policy = testPolicy();
  const hijacks = [
    "PATH", "path", "LD_PRELOAD", "LD_AUDIT", "LD_LIBRARY_PATH", "DYLD_INSERT_LIBRARIES", "NODE_OPTIONS", "NODE_PATH", "BASH_ENV", "ENV",
    "BASH_FUNC_echo%%", "SHELLOPTS", "BASHOPTS", "IFS", "PS4", "PROMPT_COMMAND", "PYTHONPATH", "PYTHONSTARTUP", "PYTHONHOME", "PERL5OPT",
    "PERL5LIB", "PERLLIB", "RUBYOPT", "RUBYLIB", "GIT_CONFIG", "GIT_CONFIG_GLOBAL", "GIT_CONFIG_COUNT", "GIT_CONFIG_KEY_0", "GIT_SSH",
    "GIT_SSH_COMMAND", "GIT_EXEC_PATH", "GIT_PAGER", "GIT_EDITOR", "GIT_ASKPASS", "GIT_PROXY_COMMAND", "GIT_EXTERNAL_DIFF", "GIT_TEMPLATE_DIR",
    "npm_config_script_shell", "NPM_CONFIG_NODE_OPTIONS", "EDITOR", "VISUAL", "PAGER", "LESSOPEN", "MAKEFLAGS", "CC", "JAVA_TOOL_OPTIONS",
    "CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_RUNNER", "RUSTC_WRAPPER", "GOFLAGS", "HOME", "GLIBC_TUNABLES", "GCONV_PATH", "SSH_AUTH_SOCK", "ZDOTDIR", "HTTP_PROXY",
  ];
  it.each(hijacks)("refuses %s from the caller", (name) => {
    const r = buildCommandEnv(policy, { [name]: "x" }, {});
    expect(r.ok).toBe(false);
  });

  it.each(["1BAD", "A-B", "A B", "", "A=B"])("refuses the malformed name %j", (name) => {
    expect(buildCommandEnv(policy, { [name]: "x" }, {})).toMatchObject({ ok: false, rule: "execution.env.name" });
  });

  it.each(["MY_APP_FLAG", "AWS_PROFILE", "FOO"])("refuses %s, which no allowlist names (fail closed)", (name) => {
    expect(buildCommandEnv(policy, { [name]: "x" }, {})).toMatchObject({ ok: false, rule: "execution.env.denied" });
  });

  it.each(["DEBUG", "NODE_ENV", "CI", "LC_ALL", "GIT_AUTHOR_NAME", "PYTHONUNBUFFERED", "RUST_LOG"])("accepts %s from the safe default set", (name) => {
    expect(buildCommandEnv(policy, { [name]: "x" }, {})).toMatchObject({ ok: true });
  });

  it("refuses NUL in values", () => {
    expect(buildCommandEnv(policy, { DEBUG: "x\0y" }, {})).toMatchObject({ ok: false, rule: "execution.env.value" });
  });

  it("always fixes PATH to the trusted path and HOME to the sandbox home", () => {
    const r = buildCommandEnv(policy, { DEBUG: "1" }, { PATH: "/evil", HOME: "/root", LANG: "C", SECRET_TOKEN: "s" });
    expect(r).toEqual({ ok: true, env: { LANG: "C", DEBUG: "1", PATH: policy.commands.trusted_path.join(":"), HOME: "/home/warden" } });
  });

  it("applies env_set and caller_env_allow", () => {
    const p = testPolicy({ env_set: { CI: "1" }, caller_env_allow: ["PYTHON*", "MY_*"] });
    expect(buildCommandEnv(p, { PYTHONPATH: "/x", MY_FLAG: "1" }, {})).toMatchObject({ ok: true, env: { CI: "1", PYTHONPATH: "/x", MY_FLAG: "1" } });
  });

  it.each([
    ["LC_*", "LC_ALL", true],
    ["LC_*", "LCX", false],
    ["GIT_*", "git_dir", true],
    ["PATH", "PATHX", false],
  ])("envNameMatches(%s, %s) = %s", (p, n, want) => expect(envNameMatches(p, n)).toBe(want));
});
