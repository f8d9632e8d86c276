import type { ShSyntax } from "mvdan-sh";
import type { AstNode } from "./ast.js";
import { parseShell } from "./parse.js";
import { wordValue } from "./words.js";

/** An argument or redirection target as written, and its value when it is a literal. */
export interface NamedWord {
  /** The word as typed (quotes and all). */
  text: string;
  /** After quote removal, when nothing in it expands; else null. */
  value: string | null;
  /** `~` or `~/path`: the shell expands it to HOME at run time. */
  tilde: boolean;
}

/**
 * Every word a command line hands to its programs as an argument or a redirection target (program
 * names excluded), in order, for `warden check` to say what the sandbox will show of the paths
 * among them. Pure; an unparsable line names nothing.
 */
export function namedWords(sh: ShSyntax, source: string): NamedWord[] {
  const parsed = parseShell(sh, source, "bash");
  if (!parsed.ok) return [];
  const bytes = Buffer.from(source, "utf8");
  const out: NamedWord[] = [];
  const add = (word: AstNode | null | undefined) => {
    if (!word || word.type !== "Word") return;
    const v = wordValue(word);
    out.push({ text: bytes.subarray(word.pos, word.end).toString("utf8"), value: v.value, tilde: v.why === "tilde" });
  };
  const visit = (node: unknown): void => {
    if (Array.isArray(node)) return node.forEach(visit);
    if (!node || typeof node !== "object") return;
    const n = node as AstNode;
    if (n.type === "CallExpr") ((n.Args ?? []) as AstNode[]).slice(1).forEach(add);
    if (n.type === "Redirect" && !n.Hdoc) add(n.Word);
    for (const [field, child] of Object.entries(n)) if (field !== "pos" && field !== "end" && typeof child === "object") visit(child);
  };
  visit(parsed.file);
  return out;
}
