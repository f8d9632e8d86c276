import { posix } from "node:path";
import { allow, deny, type Decision } from "../decision.js";
import { decideBuiltin, EVALUATING, NEVER, SHELL_ONLY } from "./builtins.js";
import { CHECKERS, DENIED_RUNNERS, WRAPPERS, type CheckOutcome, type InnerCommand } from "./checks/index.js";
import { note, type DecideContext } from "./context.js";
import { envAssignAllowed } from "./names.js";
import { checkTarget, inWritableRoot } from "./paths.js";
import { allowRules, askRules, denyRules, rulesReadArguments, type Args } from "./rules.js";

/** Shells: given anything (-c, a file, stdin) they run a script this policy has not seen. */
export const SHELLS = new Set([
  "sh", "bash", "dash", "zsh", "ksh", "ksh93", "mksh", "pdksh", "oksh", "loksh", "ash", "yash", "posh", "fish",
  "csh", "tcsh", "rbash", "pwsh", "nu", "elvish", "xonsh", "ion", "rc", "es",
]);

/** What a program name may look like: plain ASCII, no spaces, no lookalike letters. */
const PROGRAM_NAME = /^[A-Za-z0-9._+-]+$/;
const MAX_DEPTH = 8;

export interface InvocationOptions {
  /** Arguments are added at run time (xargs input, find's `{}`): only argument-blind programs qualify. */
  appended?: boolean;
  /** Environment names set for this invocation (`FOO=1 cmd`, `env FOO=1 cmd`). */
  assigns?: string[];
  via?: string;
}

/**
 * Decides one command given as words (null = expands at run time), recursing into wrappers and
 * into commands other programs run. Records a verdict for the program and every inner command.
 */
export function decideInvocation(ctx: DecideContext, words: Args, opts: InvocationOptions = {}): Decision {
  const first = words[0];
  const label = first ?? "<expansion>";
  if (first === null || first === undefined) return note(ctx, label, deny("program_expansion", "the program name is not a literal word"));
  if (ctx.depth > MAX_DEPTH) return note(ctx, label, deny("wrapper_depth", "wrappers nested too deep"));
  const args = words.slice(1);
  for (const n of opts.assigns ?? []) {
    if (!envAssignAllowed(n, ctx.policy.commands.env_assign_allow)) {
      return note(ctx, label, deny("env_assignment", `setting ${n} for a command is not in commands.env_assign_allow`));
    }
  }
  // Runners and shells are refused by name, wherever (or whether) they exist.
  const base = posix.basename(first);
  if (DENIED_RUNNERS.has(base)) return note(ctx, label, deny(`wrapper:${base}`, `${base} runs another command in a way this policy does not follow`));
  if (SHELLS.has(base)) {
    const shell = decideShell(ctx, base);
    if (!shell.allow) return note(ctx, label, shell);
  }
  const located = locate(ctx, first);
  if ("allow" in located) return note(ctx, label, located);
  const { name } = located;
  if (name === "cd" || name === "pushd" || name === "popd") ctx.sawCd = true;
  const denied = denyRules(ctx.policy, name, args);
  if (denied) return note(ctx, label, denied);
  if (located.builtin) return note(ctx, label, decideShellBuiltin(ctx, name, args, opts));
  if (SHELLS.has(name)) return note(ctx, label, decideShell(ctx, name));
  if (opts.appended && argumentSensitive(ctx, name)) {
    return note(ctx, label, deny(`wrapper:${(opts.via ?? "xargs").replace(" -", "-")}`, `${opts.via}: ${name} would get arguments that cannot be checked`));
  }
  const wrapper = WRAPPERS[name];
  if (wrapper) {
    if (ctx.env.extraAllowed.length > 0 && !ctx.env.extraAllowed.includes(name)) {
      return note(ctx, label, deny("commands.default_deny", `${name} is not among the --allow programs`));
    }
    return runWrapper(ctx, label, name, args, wrapper);
  }
  // Deny beats ask beats allow: an ask rule lets the program run once approved (not past --allow).
  const asked = askRules(ctx.policy, name, args);
  if (asked) ctx.asks.push({ program: label, decision: asked });
  const allowed = asked && ctx.env.extraAllowed.length === 0 ? asked : allowRules(ctx.policy, ctx.env.extraAllowed, name, args);
  if (!allowed.allow) return note(ctx, label, allowed);
  const special = checkSpecial(ctx, name, args);
  if (special) return note(ctx, label, special);
  note(ctx, label, allowed);
  return allowed;
}

type Located = { name: string; path: string | null; builtin: boolean } | Decision;

/** Finds what a program word runs: a builtin, a name on the trusted PATH, or an explicit path. */
function locate(ctx: DecideContext, word: string): Located {
  if (word.includes("/")) return locatePath(ctx, word);
  if (!PROGRAM_NAME.test(word) && word !== "[" && word !== ":" && word !== ".") {
    return deny("program_name", `${JSON.stringify(word)} is not a plain program name`);
  }
  if (EVALUATING.has(word) || NEVER.has(word) || SHELL_ONLY.has(word) || word === "exec" || word === "command") {
    return { name: word, path: null, builtin: true };
  }
  const path = ctx.env.resolveProgram(word);
  if (path === null) return deny("program_not_found", `${word} is not on the trusted PATH`);
  const canonical = ctx.env.canonicalProgramPath(path, "/") ?? path;
  if (inWritableRoot(ctx, canonical) || inWritableRoot(ctx, path)) {
    return deny("program_in_writable_root", `${word} resolves to ${canonical}, inside a writable root`);
  }
  return { name: word, path, builtin: false };
}

/**
 * `/usr/bin/git` or `./bin/git` counts as `git` only if it is the very file `git` resolves to on
 * the trusted PATH, under the same name (multi-call binaries act on their name), and not a file
 * in a writable root: an agent-written script cannot stand in for an allowed program.
 */
function locatePath(ctx: DecideContext, word: string): Located {
  if (!word.startsWith("/") && ctx.changesDir) return deny("program_relative_after_cd", `${word}: relative program path in a script that changes directory`);
  const lexical = posix.resolve(ctx.env.cwd, word);
  const canonical = ctx.env.canonicalProgramPath(word, ctx.env.cwd);
  if (canonical === null) return deny("program_not_found", `${word} is not an existing program file`);
  if (inWritableRoot(ctx, canonical) || inWritableRoot(ctx, lexical)) {
    return deny("program_in_writable_root", `${word} is inside a writable root: files there are not trusted programs`);
  }
  const base = posix.basename(lexical);
  if (!PROGRAM_NAME.test(base)) return deny("program_name", `${JSON.stringify(base)} is not a plain program name`);
  const path = ctx.env.resolveProgram(base);
  const trusted = path === null ? null : (ctx.env.canonicalProgramPath(path, "/") ?? path);
  if (path === null || trusted !== canonical) {
    return deny("program_path_mismatch", `${word} is not the ${base} found on the trusted PATH`);
  }
  return { name: base, path, builtin: false };
}

function decideShell(ctx: DecideContext, name: string): Decision {
  if (ctx.env.extraAllowed.length > 0) {
    return ctx.env.extraAllowed.includes(name)
      ? allow(`--allow ${name}`, `${name} is allowed with --allow, scripts included`)
      : deny("shell_script", `${name} would run a script this policy has not checked`);
  }
  return ctx.policy.commands.shells.includes(name)
    ? allow("commands.shells", `${name} may run scripts (commands.shells)`)
    : deny("shell_script", `${name} would run a script this policy has not checked (commands.shells)`);
}

function decideShellBuiltin(ctx: DecideContext, name: string, args: Args, opts: InvocationOptions): Decision {
  if (EVALUATING.has(name)) {
    const sh = ctx.env.extraAllowed.length > 0 ? ctx.env.extraAllowed.includes("sh") : ctx.policy.commands.shells.includes("sh");
    return sh ? allow("commands.shells", `${name} evaluates shell code; sh is in commands.shells`) : deny("shell_eval", `${name} runs a string or file as shell code`);
  }
  if (NEVER.has(name)) return deny(`builtin:${name}`, `the ${name} builtin is never allowed`);
  if (name === "exec" || name === "command") {
    if (opts.appended) return deny("wrapper:xargs", `${name} cannot be run by xargs or find`);
    const wrapper = WRAPPERS[name]!;
    // The verdict for the builtin itself is recorded inside.
    return unwrapDecision(ctx, name, args, wrapper);
  }
  return decideBuiltin(ctx, name, args);
}

function unwrapDecision(ctx: DecideContext, name: string, args: Args, wrapper: (a: string[]) => CheckOutcome): Decision {
  if (args.some((a) => a === null)) return deny("dynamic_argument", `${name}: the wrapped command must be literal`);
  const out = wrapper(args as string[]);
  if (out.deny) return out.deny;
  const inner = out.inner ?? [];
  if (inner.length === 0) return allow(`wrapper:${name}`, `${name} runs no command`);
  return decideInner(ctx, inner, out.assigns)!;
}

function runWrapper(ctx: DecideContext, label: string, name: string, args: Args, wrapper: (a: string[]) => CheckOutcome): Decision {
  if (args.some((a) => a === null)) return note(ctx, label, deny("dynamic_argument", `${name}: the wrapped command must be literal`));
  const out = wrapper(args as string[]);
  if (out.deny) return note(ctx, label, out.deny);
  for (const n of out.assigns ?? []) {
    if (!envAssignAllowed(n, ctx.policy.commands.env_assign_allow)) return note(ctx, label, deny("env_assignment", `${name}: setting ${n} is not in commands.env_assign_allow`));
  }
  note(ctx, label, allow(`wrapper:${name}`, `${name} is a wrapper; its command is decided on its own`));
  const inner = out.inner ?? [];
  if (inner.length === 0) {
    // env alone prints the environment: the wrapper must then be allowed itself.
    return note(ctx, label, allowRules(ctx.policy, ctx.env.extraAllowed, name, args));
  }
  return decideInner(ctx, inner)!;
}

/**
 * Decides the commands a wrapper or program will run, one nesting level deeper: the first denial,
 * else the last inner decision (null when there are none).
 */
function decideInner(ctx: DecideContext, inner: InnerCommand[], assigns?: string[]): Decision | null {
  ctx.depth++;
  try {
    let result: Decision | null = null;
    for (const c of inner) {
      const d = decideInvocation(ctx, c.argv, { appended: c.appended, assigns, via: c.via });
      if (!d.allow) return d;
      result = d;
    }
    return result;
  } finally {
    ctx.depth--;
  }
}

/** Program-specific checks for an allowed program; null when nothing to object to. */
function checkSpecial(ctx: DecideContext, name: string, args: Args): Decision | null {
  if (name === "printf") {
    if (args[0] === null || args[0]?.startsWith("-v")) return deny("shell_assignment", "printf -v assigns a shell variable (a non-literal first argument could be -v)");
    return null;
  }
  if (name === "test" || name === "[") return checkTest(name, args);
  const checker = CHECKERS[name];
  if (!checker) return null;
  if (args.some((a) => a === null)) return deny("dynamic_argument", `${name}: arguments must be literal (a glob or variable could add options)`);
  const out = checker(args as string[], name);
  if (out.deny) return out.deny;
  for (const w of out.writes ?? []) {
    const d = checkTarget(ctx, w.path, "write", w.what);
    if (d) return d;
  }
  const inner = decideInner(ctx, out.inner ?? []);
  return inner && !inner.allow ? inner : null;
}

/** bash's test builtin evaluates array subscripts for -v: `test -v 'a[$(id)]'` runs id. */
function checkTest(name: string, args: Args): Decision | null {
  const a = name === "[" && args[args.length - 1] === "]" ? args.slice(0, -1) : args;
  if (a.includes("-v")) return deny("arithmetic_expansion", `${name} -v evaluates an array subscript`);
  const ops = a[0] === "!" ? a.slice(1) : a;
  const dynamicOperator = (ops.length === 2 && ops[0] === null) || (ops.length === 3 && ops[1] === null) || (ops.length >= 4 && ops.some((x) => x === null));
  return dynamicOperator ? deny("dynamic_argument", `${name}: an operator position is not literal`) : null;
}

/** Programs whose behaviour depends on their arguments in ways checked here or by rules. */
function argumentSensitive(ctx: DecideContext, name: string): boolean {
  return (
    name in CHECKERS ||
    name in WRAPPERS ||
    SHELLS.has(name) ||
    name === "printf" ||
    name === "test" ||
    name === "[" ||
    rulesReadArguments(ctx.policy, name)
  );
}
