import { posix } from "node:path";
import type { ShSyntax } from "mvdan-sh";
import { allNodes, type AstNode } from "./ast.js";
import { allow, deny, type Decision } from "../decision.js";
import { compileDenyRules, type DenyRules } from "../path-rules.js";
import type { Policy } from "../schema/index.js";
import { newContext, type DecideContext } from "./context.js";
import { decideInvocation, SHELLS } from "./invocation.js";
import { loadParser, parseShell } from "./parse.js";
import type { CommandDecision, CommandEnvironment, CommandVerdict, ExecutionPlan, ProgramDecision } from "./types.js";
import { key, walkStmts } from "./walk.js";
import { wordValue } from "./words.js";

const MAX_SOURCE = 64 * 1024;
/** Control characters other than tab and newline: shells and parsers disagree about them. */
const CONTROL = /[\x00-\x08\x0b-\x1f\x7f]/;
const BUILTIN_NAMES = new Set(["cd", "pushd", "popd", ":", "exit", "return", "break", "continue", "shift", "wait", "set", "read", "export", "unset", "type", "umask", "exec", "command", "eval", "source", "."]);

/**
 * Decides a shell-syntax command for execute_command: every simple command in every position must
 * be allowed, and the plan says how to run exactly what was checked. Async only to load the parser.
 */
export async function decideCommand(source: string, policy: Policy, env: CommandEnvironment): Promise<CommandDecision> {
  return decideWithParser(await loadParser(), source, policy, env);
}

/** The synchronous, pure core of decideCommand, for callers that already hold the parser. */
export function decideWithParser(sh: ShSyntax, source: string, policy: Policy, env: CommandEnvironment): CommandDecision {
  if (source.trim() === "") return deny("empty_command", "the command is empty");
  if (source.length > MAX_SOURCE) return deny("command_too_long", `the command is longer than ${MAX_SOURCE} characters`);
  if (CONTROL.test(source)) return deny("control_character", "the command contains control characters (carriage return, NUL, escape, ...)");
  const parsed = parseShell(sh, source, "bash");
  if (!parsed.ok) return deny("parse_error", `the command does not parse: ${parsed.message}`);

  const comment = misplacedComment(parsed.file, source);
  if (comment !== null) return deny("comment_position", `a # at byte ${comment} is read as a comment by the parser but may not be by the shell`);
  // Compiled once for every walk below (bash, POSIX, and again after a cd): 0.3 ms a compile.
  const denyRules = compileDenyRules(policy.filesystem.deny);
  const ctx = walkFile(parsed.file, source, policy, env, denyRules);
  const first = ctx.verdicts.find((v) => !v.decision.allow);
  if (first) return { ...first.decision, commands: ctx.verdicts };
  const missed = undecided(parsed.file, ctx.decided);
  if (missed) return { ...deny("undecided_command", `a command at byte ${missed} was not decided`), commands: ctx.verdicts };

  // /bin/sh may be dash: where the POSIX reading differs ($'..', ((..)), &>), it must pass too.
  const posixParse = parseShell(sh, source, "posix");
  if (posixParse.ok) {
    const pctx = walkFile(posixParse.file, source, policy, env, denyRules);
    const pfirst = pctx.verdicts.find((v) => !v.decision.allow && !harmlessUnderDash(v, env));
    if (pfirst) {
      return { ...deny(pfirst.decision.rule, `read as POSIX sh: ${pfirst.decision.reason}`), commands: [...ctx.verdicts, ...pctx.verdicts] };
    }
    const pmissed = undecided(posixParse.file, pctx.decided);
    if (pmissed) return { ...deny("undecided_command", `read as POSIX sh, a command at byte ${pmissed} was not decided`), commands: ctx.verdicts };
  }

  const plan = planFor(parsed.file, source, env);
  if ("allow" in plan) return { ...plan, commands: ctx.verdicts };
  const ask = askSummary(ctx);
  return { ...allowedSummary(ctx), plan, commands: ctx.verdicts, ...(ask ? { ask } : {}) };
}

/** The ask rules an allowed command matched, as one decision naming them (null: none). */
function askSummary(ctx: DecideContext): Decision | null {
  if (ctx.asks.length === 0) return null;
  const rules = [...new Set(ctx.asks.map((a) => a.decision.rule))];
  return allow(rules.join(","), ctx.asks.map((a) => a.decision.reason).join("; "));
}

/**
 * Under the POSIX reading, a bash word like `[[` becomes a program that does not exist: dash fails
 * to run it, nothing else. Only such not-found denials are forgiven in the second pass.
 */
function harmlessUnderDash(v: CommandVerdict, env: CommandEnvironment): boolean {
  if (v.decision.rule === "program_not_found") return !v.program.includes("/");
  return v.decision.rule === "program_name" && !v.program.includes("/") && env.resolveProgram(v.program) === null;
}

/**
 * Decides every command of a parsed file. Relative paths are judged against the cwd; if the walk
 * meets a cd/pushd/popd anywhere, that is unknowable, so the file is walked again with relative
 * targets refused. (Every command is reached when the result is an allow: see `undecided`.)
 */
function walkFile(file: AstNode, source: string, policy: Policy, env: CommandEnvironment, denyRules: DenyRules): DecideContext {
  const walk = (changesDir: boolean): DecideContext => {
    const ctx = newContext(policy, env, source, changesDir, denyRules);
    walkStmts(ctx, file.Stmts ?? []);
    return ctx;
  };
  const first = walk(false);
  return first.sawCd ? walk(true) : first;
}

/**
 * A shell starts a comment only where a word could start (after a blank or an operator). The
 * parser was seen taking `$(echo a)#$(cmd)` as a command plus a comment, where dash runs cmd: a
 * comment whose `#` does not follow a blank, a newline, `;`, `&` or `|` is refused.
 */
function misplacedComment(file: AstNode, source: string): number | null {
  const bytes = Buffer.from(source, "utf8");
  for (const n of allNodes(file)) {
    if (n.type !== "Comment") continue;
    const before = n.pos > 0 ? String.fromCharCode(bytes[n.pos - 1]!) : "\n";
    if (!" \t\n;&|".includes(before)) return n.pos;
  }
  return null;
}

/** Belt and braces: every simple command the parser produced must have been decided by the walk. */
function undecided(file: AstNode, decided: Set<string>): number | null {
  const missed = allNodes(file).find((n) => (n.type === "CallExpr" || n.type === "DeclClause") && !decided.has(key(n)));
  return missed ? missed.pos : null;
}

function allowedSummary(ctx: DecideContext): Decision {
  const rules = [...new Set(ctx.verdicts.filter((v) => !v.decision.rule.startsWith("wrapper:")).map((v) => v.decision.rule))];
  if (rules.length === 0) return allow("shell_only", "no program runs (assignments, redirections or builtins only)");
  return allow(rules.join(","), ctx.verdicts.length === 1 ? ctx.verdicts[0]!.decision.reason : `all ${ctx.verdicts.length} commands are allowed`);
}

/** argv for one plain simple command of literal words; otherwise the checked script run by sh. */
function planFor(file: AstNode, source: string, env: CommandEnvironment): ExecutionPlan | Decision {
  const stmts = (file.Stmts ?? []) as AstNode[];
  const only = stmts.length === 1 ? stmts[0]! : null;
  const call = only?.Cmd?.type === "CallExpr" ? only.Cmd : null;
  if (only && call && !only.Negated && !only.Background && (only.Redirs ?? []).length === 0 && (call.Assigns ?? []).length === 0) {
    const words = ((call.Args ?? []) as AstNode[]).map((w) => wordValue(w).value);
    const name = words[0];
    if (words.length > 0 && words.every((w) => w !== null) && name && !BUILTIN_NAMES.has(name)) {
      const path = env.resolveProgram(name.includes("/") ? posix.basename(name) : name);
      if (path) return { kind: "argv", argv: [path, ...(words.slice(1) as string[])] };
    }
  }
  const shell = env.resolveProgram("sh");
  if (!shell) return deny("no_shell", "sh is not on the trusted PATH to run the script");
  return { kind: "script", shell, script: source };
}

/**
 * A program name on its own, for check_command_exists: where it resolves and whether the policy
 * would run it (with no arguments; arguments can still deny it later).
 */
export function decideProgram(name: string, policy: Policy, env: CommandEnvironment): ProgramDecision {
  const ctx = newContext(policy, env, name, false);
  const path = name.includes("/") ? env.canonicalProgramPath(name, env.cwd) : /^[A-Za-z0-9._+-]+$/.test(name) ? env.resolveProgram(name) : null;
  const d = decideInvocation(ctx, [name]);
  return { allow: d.allow, rule: d.rule, reason: d.reason, path };
}

/**
 * Input written to a background process. For a shell it is more commands: each write must be
 * complete lines that pass like a command (a parse error or partial line denies, so a command
 * cannot be split across writes). For any other program it is data.
 */
export async function decideProcessInput(input: string, program: string, policy: Policy, env: CommandEnvironment): Promise<Decision> {
  if (!SHELLS.has(posix.basename(program))) return allow("process_input_data", `input to ${posix.basename(program)} is data`);
  if (!input.endsWith("\n")) return deny("incomplete_input", "input to a shell must be whole lines ending in a newline");
  const d = await decideCommand(input, policy, env);
  // Input to a running shell cannot wait for a human: what an ask rule matches must come through execute_command.
  if (d.allow && d.ask) return deny(d.ask.rule, `${d.ask.reason}; input to a running shell cannot wait for approval, run it with execute_command`);
  return { allow: d.allow, rule: d.rule, reason: d.reason };
}
