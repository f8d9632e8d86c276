export type RegexTranslation = { ok: true; pattern: string; icase: boolean } | { ok: false; message: string };

const CLASS_IN_BRACKETS: Record<string, string> = { d: "[:digit:]", w: "[:alnum:]_", s: "[:space:]" };

/**
 * Agents write JavaScript/PCRE-style regexes; the search module speaks POSIX ERE (musl's, which
 * already knows \w \s \d \b \< \> outside brackets). This translates the common differences and
 * refuses, with a clear message, what ERE cannot express (lookaround, lazy quantifiers).
 */
export function toPosixEre(input: string): RegexTranslation {
  const icasePrefix = input.startsWith("(?i)");
  const source = icasePrefix ? input.slice(4) : input;
  try {
    new RegExp(source, "u");
  } catch (err) {
    try {
      new RegExp(source);
    } catch {
      return { ok: false, message: `invalid regular expression: ${(err as Error).message.replace(/^Invalid regular expression: /, "")}` };
    }
  }
  const icase = icasePrefix;
  const s = source;
  let out = "";
  let inBracket = false;
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    const next = s[i + 1];
    if (c === "\\" && next !== undefined) {
      if (inBracket && CLASS_IN_BRACKETS[next]) out += CLASS_IN_BRACKETS[next];
      else if (inBracket && /[DWS]/.test(next)) return { ok: false, message: `\\${next} inside [...] is not supported; rewrite the class` };
      else if (!inBracket && next === "A") out += "^";
      else if (!inBracket && (next === "z" || next === "Z")) out += "$";
      else if (/[0-9]/.test(next) && next !== "0") return { ok: false, message: "backreferences are not supported" };
      else if (inBracket && next === "]") out += "]";
      else if (inBracket && next === "\\") out += "\\";
      else if (inBracket && next === "-") out += "-";
      else if (next === "/") out += "/";
      else out += c + next;
      i++;
      continue;
    }
    if (inBracket) {
      if (c === "]") inBracket = false;
      out += c;
      continue;
    }
    if (c === "[") {
      inBracket = true;
      out += c;
      if (s[i + 1] === "^") out += s[++i];
      if (s[i + 1] === "]") out += s[++i];
      continue;
    }
    if (c === "(" && next === "?") {
      const kind = s[i + 2];
      if (kind === ":") {
        out += "(";
        i += 2;
        continue;
      }
      return { ok: false, message: "lookaround and inline groups (?...) are not supported by the POSIX regex engine" };
    }
    if ((c === "*" || c === "+" || c === "?" || c === "}") && next === "?") {
      return { ok: false, message: "lazy quantifiers (*? +? ??) are not supported; use a greedy one" };
    }
    out += c;
  }
  return { ok: true, pattern: out, icase };
}
