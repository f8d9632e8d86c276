import { allow, deny, type Decision } from "../decision.js";
import type { Args } from "./rules.js";
import type { DecideContext } from "./context.js";
import { envAssignAllowed, shellVariableAllowed } from "./names.js";

/** Builtins that evaluate a string or file as shell code. */
export const EVALUATING = new Set(["eval", "source", "."]);

/** Builtins never allowed: they redefine what a name runs or assign in ways not followed here. */
export const NEVER = new Set([
  "trap", "alias", "unalias", "builtin", "enable", "hash", "declare", "typeset", "local", "readonly", "let",
  "mapfile", "readarray", "shopt", "fc", "history", "complete", "compgen", "compopt", "coproc", "caller",
  "bind", "disown", "suspend", "logout", "getopts", "ulimit", "times", "jobs", "fg", "bg", "kill", "dirs",
]);

/** Builtins that only exist in the shell (no program file), which `commands.builtins` may allow. */
export const SHELL_ONLY = new Set(["cd", "pushd", "popd", ":", "exit", "return", "break", "continue", "shift", "wait", "set", "read", "export", "unset", "type", "umask"]);

const SET_FLAGS = /^[-+][euxvfCnbhmB]+$/;
const SET_OPTIONS = new Set(["errexit", "nounset", "xtrace", "verbose", "noglob", "noclobber", "pipefail", "noexec", "notify", "monitor", "hashall", "braceexpand", "errtrace", "functrace"]);

/**
 * A shell-only builtin with its arguments. `set -a` (export everything), variables the shell
 * itself reads (PATH, IFS, ...), and exports not on env_assign_allow are refused.
 */
export function decideBuiltin(ctx: DecideContext, name: string, args: Args): Decision {
  const rule = `builtin:${name}`;
  if (!ctx.policy.commands.builtins.includes(name)) return deny("builtin_not_allowed", `the ${name} builtin is not in commands.builtins`);
  // bash's `wait -p VAR` assigns a variable.
  if (name === "wait" && args.some((a) => a === null || a.startsWith("-p") || /^-[a-z]*p/.test(a))) {
    return deny("shell_assignment", "wait -p assigns a shell variable");
  }
  // These only take numbers or a directory; what they are given cannot run anything.
  if (["cd", "pushd", "popd", ":", "exit", "return", "break", "continue", "shift", "wait", "type", "umask"].includes(name)) {
    return allow(rule, `${name} is an allowed builtin`);
  }
  if (args.some((a) => a === null)) return deny("dynamic_argument", `${name}: arguments must be literal`);
  const lit = args as string[];
  if (name === "set") {
    for (let i = 0; i < lit.length; i++) {
      const a = lit[i]!;
      if (a === "--" || a === "-") break;
      if (a === "-o" || a === "+o") {
        const opt = lit[++i];
        if (opt !== undefined && !SET_OPTIONS.has(opt)) return deny("shell_option", `set -o ${opt} is not allowed`);
        continue;
      }
      if (!a.startsWith("-") && !a.startsWith("+")) break;
      if (!SET_FLAGS.test(a)) return deny("shell_option", `set ${a} is not allowed (set -a would export every variable)`);
    }
    return allow(rule, "set with allowed options");
  }
  if (name === "read") {
    for (let i = 0; i < lit.length; i++) {
      const a = lit[i]!;
      if (/^-[dinNptua]$/.test(a)) {
        if (a === "-a" && !shellVariableAllowed(lit[i + 1] ?? "")) return deny("shell_assignment", `read into ${lit[i + 1]} is not allowed`);
        i++;
        continue;
      }
      if (a.startsWith("-")) continue;
      if (!shellVariableAllowed(a)) return deny("shell_assignment", `read into ${a} is not allowed`);
    }
    return allow(rule, "read into allowed variables");
  }
  if (name === "export") {
    for (const a of lit) {
      if (a === "-p") continue;
      if (a.startsWith("-")) return deny("env_assignment", `export ${a} is not allowed`);
      const n = a.split("=")[0]!;
      if (!envAssignAllowed(n, ctx.policy.commands.env_assign_allow)) return deny("env_assignment", `export of ${n} is not in commands.env_assign_allow`);
    }
    return allow(rule, "export of allowed variables");
  }
  if (name === "unset") {
    for (const a of lit) {
      if (a.startsWith("-")) {
        if (a !== "-v") return deny("shell_assignment", `unset ${a} is not allowed`);
        continue;
      }
      if (!shellVariableAllowed(a)) return deny("shell_assignment", `unset ${a} is not allowed`);
    }
    return allow(rule, "unset of allowed variables");
  }
  return deny("builtin_not_allowed", `the ${name} builtin is not handled`);
}
