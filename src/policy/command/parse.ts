import type { ShSyntax } from "mvdan-sh";
import { toPlainAst, type AstNode } from "./ast.js";

/**
 * The shell parser: mvdan/sh (the parser behind shfmt) in its GopherJS build, loaded on first use
 * (the module system caches it; no state here). Parsing itself is synchronous and pure.
 */
export async function loadParser(): Promise<ShSyntax> {
  const m = (await import("mvdan-sh")) as unknown as { default?: { syntax: ShSyntax }; syntax?: ShSyntax };
  const syntax = m.default?.syntax ?? m.syntax;
  if (!syntax) throw new Error("mvdan-sh did not load");
  return syntax;
}

export type ParseOutcome = { ok: true; file: AstNode } | { ok: false; message: string };

/** Parses as `variant`; any parser failure (including a panic inside the parser) is a value. */
export function parseShell(sh: ShSyntax, source: string, variant: "bash" | "posix"): ParseOutcome {
  try {
    // Comments are kept so their positions can be checked (see misplacedComment in decide.ts).
    const parser = sh.NewParser(sh.KeepComments(true), sh.Variant(variant === "bash" ? sh.LangBash : sh.LangPOSIX));
    return { ok: true, file: toPlainAst(parser.Parse(source, "")) };
  } catch (err) {
    const e = err as { Error?: () => string; message?: string } | null;
    const message = typeof e?.Error === "function" ? e.Error() : (e?.message ?? String(err));
    return { ok: false, message };
  }
}
