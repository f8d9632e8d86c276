/**
 * A path as git prints it in a patch (quote.c, core.quotePath on): plain when it holds only printable
 * ASCII other than '"' and '\'; otherwise in double quotes with C escapes and octal for the rest.
 * `git apply` reads both forms.
 */
const NAMED: Record<number, string> = { 7: "\\a", 8: "\\b", 9: "\\t", 10: "\\n", 11: "\\v", 12: "\\f", 13: "\\r", 34: '\\"', 92: "\\\\" };

export function quotePath(prefix: string, path: string): string {
  const bytes = Buffer.from(prefix + path, "utf8");
  if (bytes.every((b) => b >= 0x20 && b < 0x7f && b !== 0x22 && b !== 0x5c)) return prefix + path;
  let out = '"';
  for (const b of bytes) {
    if (NAMED[b]) out += NAMED[b];
    else if (b < 0x20 || b >= 0x7f) out += `\\${b.toString(8).padStart(3, "0")}`;
    else out += String.fromCharCode(b);
  }
  return `${out}"`;
}
