import type { ShNode, ShSyntax } from "mvdan-sh";

/**
 * The shell parser: mvdan/sh (the parser behind shfmt) in its GopherJS build, loaded on first use.
 * It is synchronous and pure; loading is the only asynchronous step.
 */
let loading: Promise<ShSyntax> | undefined;

export function loadParser(): Promise<ShSyntax> {
  // A cache of an immutable module, not state: every caller gets the same parser code.
  loading ??= import("mvdan-sh").then((m) => (m.default ?? (m as unknown as { syntax: ShSyntax })).syntax ?? (m as unknown as { syntax: ShSyntax }).syntax);
  return loading;
}

export type ParseOutcome = { ok: true; file: ShNode } | { ok: false; message: string };

/** Parses as `variant`; any parser failure (including a panic inside the parser) is a value. */
export function parseShell(sh: ShSyntax, source: string, variant: "bash" | "posix"): ParseOutcome {
  try {
    const parser = sh.NewParser(sh.KeepComments(false), sh.Variant(variant === "bash" ? sh.LangBash : sh.LangPOSIX));
    return { ok: true, file: parser.Parse(source, "") };
  } catch (err) {
    const e = err as { Error?: () => string; message?: string } | null;
    const message = typeof e?.Error === "function" ? e.Error() : (e?.message ?? String(err));
    return { ok: false, message };
  }
}
