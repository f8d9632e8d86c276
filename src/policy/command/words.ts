import type { AstNode } from "./ast.js";

/**
 * What a shell word becomes, decided from the AST alone. `value` is the word after quote removal
 * when it expands to exactly that one string whatever the environment; otherwise null and `why`
 * says what made it dynamic.
 */
export interface WordValue {
  value: string | null;
  why?: "expansion" | "glob" | "brace" | "tilde" | "dollar_quote";
}

/** Quote removal for a word made only of literals and quotes; null when anything expands. */
export function wordValue(word: AstNode): WordValue {
  const buf: Buffered = { text: "", plain: [] };
  const parts: AstNode[] = word.Parts ?? [];
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i]!;
    const type = part.type;
    if (type === "Lit") {
      const r = unquotedLiteral(part.Value as string, i === 0, buf);
      if (r) return r;
    } else if (type === "SglQuoted") {
      if (part.Dollar) return { value: null, why: "dollar_quote" };
      quoted(buf, part.Value as string);
    } else if (type === "DblQuoted") {
      if (part.Dollar) return { value: null, why: "dollar_quote" };
      for (const inner of (part.Parts ?? []) as AstNode[]) {
        if (inner.type !== "Lit") return { value: null, why: "expansion" };
        quoted(buf, doubleQuotedLiteral(inner.Value as string));
      }
    } else {
      return { value: null, why: "expansion" };
    }
  }
  if (hasBraceExpansion(buf.text, buf.plain)) return { value: null, why: "brace" };
  return { value: buf.text };
}

/** The word's text so far and, per character, whether it was unquoted (so it may still expand). */
interface Buffered {
  text: string;
  plain: boolean[];
}

function quoted(buf: Buffered, text: string): void {
  buf.text += text;
  for (let i = 0; i < text.length; i++) buf.plain.push(false);
}

/** Unquoted literal text: backslash escapes removed; a glob or a leading ~ makes the word dynamic. */
function unquotedLiteral(raw: string, first: boolean, buf: Buffered): WordValue | null {
  if (first && raw.startsWith("~")) return { value: null, why: "tilde" };
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i]!;
    if (c === "\\" && i + 1 < raw.length) {
      buf.text += raw[++i];
      buf.plain.push(false);
      continue;
    }
    // `[` starts a bracket expression only if a `]` closes it later in the word.
    if (c === "*" || c === "?" || (c === "[" && raw.indexOf("]", i + 1) > i)) return { value: null, why: "glob" };
    buf.text += c;
    buf.plain.push(true);
  }
  return null;
}

/** An unescaped `{` ... `,` or `..` ... `}`: bash brace expansion (dash leaves it alone; we refuse both readings). */
function hasBraceExpansion(text: string, plain: boolean[]): boolean {
  for (let i = 0; i < text.length; i++) {
    if (text[i] !== "{" || !plain[i]) continue;
    const close = text.indexOf("}", i + 1);
    if (close < 0) return false;
    const inner = text.slice(i + 1, close);
    if (inner.includes(",") || inner.includes("..")) return true;
  }
  return false;
}

/** Inside double quotes a backslash only escapes $ ` " \ (newline continuations are already gone). */
function doubleQuotedLiteral(raw: string): string {
  let out = "";
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i]!;
    if (c === "\\" && i + 1 < raw.length && '$`"\\'.includes(raw[i + 1]!)) {
      out += raw[++i];
      continue;
    }
    out += c;
  }
  return out;
}
