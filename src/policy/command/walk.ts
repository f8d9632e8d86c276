import type { AstNode } from "./ast.js";
import { note, refuse, type DecideContext } from "./context.js";
import { decideInvocation } from "./invocation.js";
import { shellVariableAllowed, VALID_NAME } from "./names.js";
import { checkTarget } from "./paths.js";
import type { Args } from "./rules.js";
import { wordValue } from "./words.js";

/** mvdan/sh token numbers (syntax.RedirOperator and friends, v3 as built into mvdan-sh 0.10). */
const REDIR = { out: 54, append: 55, in: 56, rdwr: 57, dupIn: 58, dupOut: 59, clobber: 60, hdoc: 61, dashHdoc: 62, wordHdoc: 63, all: 64, appendAll: 65 };
const WRITE_REDIRS = new Set([REDIR.out, REDIR.append, REDIR.rdwr, REDIR.clobber, REDIR.all, REDIR.appendAll]);
const PARAM_ASSIGN_OPS = new Set([74, 75]); // ${x=v} ${x:=v}
const PARAM_TRANSFORM_OP = 84; // ${x@P} and the other @ operators
const ARITH_TESTS = new Set([116, 117, 118, 119, 120, 121]); // -eq -ne -le -ge -lt -gt
const VAR_TEST_OP = 110; // [[ -v name ]]
const SAFE_SPECIAL_PARAMS = /^[#?$!]$/;

/**
 * Walks the AST and decides every simple command wherever it sits: lists, pipelines, subshells,
 * groups, if/while/for/case bodies, command and process substitutions, heredocs, parameter
 * expansion operands, redirections. Constructs that could run code this walk cannot follow
 * (functions, arithmetic on variables, coprocesses, ...) are denied.
 */
export function walkStmts(ctx: DecideContext, stmts: AstNode[]): void {
  for (const s of stmts) walkStmt(ctx, s);
}

function walkStmt(ctx: DecideContext, stmt: AstNode): void {
  if (stmt.Coprocess) refuse(ctx, "coproc", "coprocess", "coprocesses are not allowed");
  for (const r of (stmt.Redirs ?? []) as AstNode[]) walkRedirect(ctx, r);
  if (stmt.Cmd) walkCommand(ctx, stmt.Cmd);
}

function walkCommand(ctx: DecideContext, cmd: AstNode): void {
  const type = cmd.type;
  switch (type) {
    case "CallExpr":
      return walkCall(ctx, cmd);
    case "BinaryCmd":
      walkStmt(ctx, cmd.X);
      return walkStmt(ctx, cmd.Y);
    case "Block":
    case "Subshell":
      return walkStmts(ctx, cmd.Stmts ?? []);
    case "IfClause":
      walkStmts(ctx, cmd.Cond ?? []);
      walkStmts(ctx, cmd.Then ?? []);
      if (cmd.Else) walkCommand(ctx, cmd.Else);
      return;
    case "WhileClause":
      walkStmts(ctx, cmd.Cond ?? []);
      return walkStmts(ctx, cmd.Do ?? []);
    case "ForClause": {
      if (cmd.Select) return void refuse(ctx, "select", "unsupported_syntax", "select loops are not allowed");
      const loop = cmd.Loop;
      if (loop.type !== "WordIter") return void refuse(ctx, "for ((...))", "arithmetic_command", "C-style for loops evaluate arithmetic");
      const name = loop.Name?.Value as string;
      if (!shellVariableAllowed(name)) refuse(ctx, `for ${name}`, "shell_assignment", `the loop variable ${name} is one the shell itself reads`);
      for (const w of (loop.Items ?? []) as AstNode[]) walkWord(ctx, w);
      return walkStmts(ctx, cmd.Do ?? []);
    }
    case "CaseClause":
      walkWord(ctx, cmd.Word);
      for (const item of (cmd.Items ?? []) as AstNode[]) {
        for (const p of (item.Patterns ?? []) as AstNode[]) walkWord(ctx, p);
        walkStmts(ctx, item.Stmts ?? []);
      }
      return;
    case "FuncDecl":
      return void refuse(ctx, `${cmd.Name?.Value ?? "?"}()`, "function_definition", "defining functions is not allowed (a function can shadow an allowed name)");
    case "ArithmCmd":
    case "LetClause":
      return void refuse(ctx, "((...))", "arithmetic_command", "arithmetic commands are not allowed (dash reads ((x)) as nested subshells)");
    case "TestClause":
      return walkTest(ctx, cmd.X);
    case "DeclClause":
      return walkDecl(ctx, cmd);
    case "TimeClause":
      if (cmd.Stmt) walkStmt(ctx, cmd.Stmt);
      return;
    case "CoprocClause":
      return void refuse(ctx, "coproc", "coprocess", "coprocesses are not allowed");
    default:
      return void refuse(ctx, type, "unsupported_syntax", `${type} is not supported`);
  }
}

function walkCall(ctx: DecideContext, call: AstNode): void {
  const args = (call.Args ?? []) as AstNode[];
  const assigns = (call.Assigns ?? []) as AstNode[];
  for (const a of assigns) walkAssign(ctx, a, args.length > 0);
  for (const w of args) walkWord(ctx, w);
  ctx.decided.add(key(call));
  if (args.length === 0) return;
  const words: Args = args.map((w) => wordValue(w).value);
  if (words[0] === null) {
    const why = wordValue(args[0]!).why;
    refuse(ctx, "<expansion>", "program_expansion", `the program name is not a literal word (${why})`);
    return;
  }
  const d = decideInvocation(ctx, words, { assigns: assigns.map((a) => a.Name?.Value as string) });
  // Every denial must reach the verdict list, which is what the final decision is made from.
  if (!d.allow && !ctx.verdicts.some((v) => v.decision === d)) note(ctx, String(words[0]), d);
}

/** `NAME=value` before a command (exported to it) or on its own (a shell variable). */
function walkAssign(ctx: DecideContext, a: AstNode, exported: boolean): void {
  const name = a.Name?.Value as string;
  if (a.Index) refuse(ctx, `${name}[...]=`, "arithmetic_expansion", "array subscripts are evaluated as arithmetic");
  if (a.Value) walkWord(ctx, a.Value);
  for (const el of (a.Array?.Elems ?? []) as AstNode[]) {
    if (el.Index) refuse(ctx, `${name}=(...)`, "arithmetic_expansion", "array subscripts are evaluated as arithmetic");
    if (el.Value) walkWord(ctx, el.Value);
  }
  // Exported names are also held to env_assign_allow, by decideInvocation.
  if (!shellVariableAllowed(name)) refuse(ctx, `${name}=`, exported ? "env_assignment" : "shell_assignment", `${name} is read by the shell itself`);
}

function walkDecl(ctx: DecideContext, decl: AstNode): void {
  const variant = decl.Variant?.Value as string;
  ctx.decided.add(key(decl));
  if (variant !== "export") return void refuse(ctx, variant, `builtin:${variant}`, `${variant} is not allowed`);
  const words: Args = [];
  for (const a of (decl.Args ?? []) as AstNode[]) {
    if (a.Index) refuse(ctx, "export", "arithmetic_expansion", "array subscripts are evaluated as arithmetic");
    for (const el of (a.Array?.Elems ?? []) as AstNode[]) {
      if (el.Index) refuse(ctx, "export", "arithmetic_expansion", "array subscripts are evaluated as arithmetic");
      if (el.Value) walkWord(ctx, el.Value);
    }
    if (a.Value) walkWord(ctx, a.Value);
    if (a.Naked && !a.Name && a.Value) {
      // A flag or a word that is not NAME[=value] (export -n x, export $v).
      words.push(wordValue(a.Value).value);
      continue;
    }
    words.push(a.Name?.Value ?? null);
  }
  const d = decideInvocation(ctx, ["export", ...words]);
  if (!d.allow && !ctx.verdicts.some((v) => v.decision === d)) note(ctx, "export", d);
}

function walkRedirect(ctx: DecideContext, r: AstNode): void {
  const op = r.Op as number;
  if (r.N && !/^\d+$/.test(r.N.Value as string)) return void refuse(ctx, "{var}>", "shell_assignment", "named file descriptors assign a variable");
  if (op === REDIR.hdoc || op === REDIR.dashHdoc) {
    // Shells join backslash-newline inside heredocs (even into the terminator line) in ways
    // parsers disagree on: `EO\<newline>F` ends the heredoc for bash only. Refuse the mix.
    if (ctx.source.includes("\\\n")) return void refuse(ctx, "<<", "heredoc_continuation", "a heredoc in a command with backslash-newline continuations");
    // An unquoted heredoc body expands like a double-quoted string.
    if (r.Hdoc) walkWord(ctx, r.Hdoc, true);
    return;
  }
  walkWord(ctx, r.Word);
  if (op === REDIR.wordHdoc) return;
  const v = wordValue(r.Word).value;
  const label = `${op === REDIR.in ? "<" : ">"} ${v ?? "<expansion>"}`;
  if (op === REDIR.dupIn || op === REDIR.dupOut) {
    if (v !== null && /^(\d+-?|-)$/.test(v)) return;
  }
  if (v === null) return void refuse(ctx, label, "redirect_expansion", "a redirection target must be a literal path");
  if (!WRITE_REDIRS.has(op) && op !== REDIR.in && op !== REDIR.dupIn && op !== REDIR.dupOut) {
    return void refuse(ctx, label, "unsupported_syntax", `redirection operator ${op} is not supported`);
  }
  const write = WRITE_REDIRS.has(op) || op === REDIR.dupOut;
  const d = checkTarget(ctx, v, write ? "write" : "read", `redirection ${label}`);
  if (d) note(ctx, label, d);
}

/** `inDouble`: the word sits inside double quotes (through a parameter expansion's operand). */
function walkWord(ctx: DecideContext, word: AstNode | null, inDouble = false): void {
  if (!word) return;
  for (const p of (word.Parts ?? []) as AstNode[]) walkPart(ctx, p, inDouble);
}

function walkPart(ctx: DecideContext, part: AstNode, inDouble = false): void {
  const type = part.type;
  switch (type) {
    case "Lit":
    case "ExtGlob":
    case "BraceExp":
      return;
    case "SglQuoted":
      if (part.Dollar) refuse(ctx, "$'...'", "dollar_quoting", "$'...' quoting is read differently by bash and dash");
      // "${x:-'$(cmd)'}": inside double quotes dash takes the single quotes literally and runs cmd.
      if (inDouble) refuse(ctx, "\"${x:-'...'}\"", "nested_quoting", "single quotes inside an expansion inside double quotes are read differently by shells");
      return;
    case "DblQuoted":
      if (part.Dollar) refuse(ctx, '$"..."', "dollar_quoting", '$"..." quoting is read differently by bash and dash');
      for (const p of (part.Parts ?? []) as AstNode[]) walkPart(ctx, p, true);
      return;
    case "CmdSubst":
    case "ProcSubst":
      // A substitution starts a new quoting context.
      return walkStmts(ctx, part.Stmts ?? []);
    case "ParamExp":
      return walkParam(ctx, part, inDouble);
    case "ArithmExp":
      return walkArithm(ctx, part.X);
    default:
      return void refuse(ctx, type, "unsupported_syntax", `${type} is not supported`);
  }
}

/** Parameter expansion is fine except where bash evaluates code: @P, indirection, subscripts, slices, ${x=...}. */
function walkParam(ctx: DecideContext, pe: AstNode, inDouble: boolean): void {
  const name = (pe.Param?.Value as string) ?? "?";
  if (pe.Excl) return void refuse(ctx, `\${!${name}}`, "param_indirect", "indirect expansion can evaluate array subscripts");
  if (pe.Width) return void refuse(ctx, `\${%${name}}`, "unsupported_syntax", "mksh width expansion is not supported");
  if (pe.Index) {
    const idx = wordValue(pe.Index).value;
    if (idx === null || !/^(\d+|@|\*)$/.test(idx)) refuse(ctx, `\${${name}[...]}`, "arithmetic_expansion", "array subscripts are evaluated as arithmetic");
  }
  if (pe.Slice) {
    if (pe.Slice.Offset) walkArithm(ctx, pe.Slice.Offset);
    if (pe.Slice.Length) walkArithm(ctx, pe.Slice.Length);
  }
  if (pe.Repl) {
    walkWord(ctx, pe.Repl.Orig, inDouble);
    walkWord(ctx, pe.Repl.With, inDouble);
  }
  if (pe.Exp) {
    const op = pe.Exp.Op as number;
    if (op === PARAM_TRANSFORM_OP) refuse(ctx, `\${${name}@...}`, "param_transform", "@ transformations (@P runs command substitutions) are not allowed");
    if (PARAM_ASSIGN_OPS.has(op)) refuse(ctx, `\${${name}=...}`, "shell_assignment", "${x=value} assigns a variable");
    walkWord(ctx, pe.Exp.Word, inDouble);
  }
}

/** Arithmetic may only use numbers and $# $? $$ $!: a variable's value is itself evaluated (a[$(cmd)]). */
function walkArithm(ctx: DecideContext, x: AstNode | null): void {
  if (!x) return;
  const type = x.type;
  if (type === "BinaryArithm") {
    walkArithm(ctx, x.X);
    return walkArithm(ctx, x.Y);
  }
  if (type === "UnaryArithm" || type === "ParenArithm") return walkArithm(ctx, x.X);
  if (type === "Word" && arithmeticOperandSafe(ctx, x)) return;
  refuse(ctx, "$((...))", "arithmetic_expansion", "arithmetic may only use numbers (variables are evaluated recursively)");
}

function arithmeticOperandSafe(ctx: DecideContext, w: AstNode): boolean {
  const v = wordValue(w).value;
  if (v !== null) return /^(\d+|0[xX][0-9a-fA-F]+)$/.test(v);
  const parts = (w.Parts ?? []) as AstNode[];
  return parts.length === 1 && parts[0]!.type === "ParamExp" && parts[0]!.Short && SAFE_SPECIAL_PARAMS.test(parts[0]!.Param?.Value);
}

function walkTest(ctx: DecideContext, x: AstNode | null): void {
  if (!x) return;
  const type = x.type;
  if (type === "BinaryTest") {
    if (ARITH_TESTS.has(x.Op as number)) {
      walkArithm(ctx, x.X);
      return walkArithm(ctx, x.Y);
    }
    walkTest(ctx, x.X);
    return walkTest(ctx, x.Y);
  }
  if (type === "UnaryTest") {
    if (x.Op === VAR_TEST_OP) {
      // -v NAME[sub] evaluates the subscript as arithmetic; only a plain name is safe.
      const operand = x.X.type === "Word" ? wordValue(x.X).value : null;
      if (operand === null || !VALID_NAME.test(operand)) {
        return void refuse(ctx, "[[ -v ]]", "arithmetic_expansion", "-v evaluates array subscripts");
      }
    }
    return walkTest(ctx, x.X);
  }
  if (type === "ParenTest") return walkTest(ctx, x.X);
  if (type === "Word") return walkWord(ctx, x);
  refuse(ctx, type, "unsupported_syntax", `${type} is not supported`);
}

/** A stable identity for a node across the parser's wrapper objects: type and byte span. */
export function key(node: AstNode): string {
  return `${node.type}:${node.pos}:${node.end}`;
}
