import { describe, expect, test } from "vitest";
import { loadParser, parseShell } from "../../../src/policy/command/parse.js";
import { wordValue } from "../../../src/policy/command/words.js";

const sh = await loadParser();

/** The value of the second word of `echo WORD` (the first is `echo`). */
function value(word: string) {
  const parsed = parseShell(sh, `echo ${word}`, "bash");
  if (!parsed.ok) throw new Error(parsed.message);
  return wordValue(parsed.file.Stmts[0].Cmd.Args[1]);
}

// [word as typed, expected value (null = expands at run time), why]
const CASES: [string, string | null, string?][] = [
  ["plain", "plain"],
  ["'single quoted'", "single quoted"],
  ['"double quoted"', "double quoted"],
  ["p'w'\"n\"", "pwn"],
  ["a\\ b", "a b"],
  ["\\$HOME", "$HOME"],
  ['"\\$x \\" \\\\ \\a"', '$x " \\ \\a'],
  ["'$(not run)'", "$(not run)"],
  ["-c", "-c"],
  ["HEAD@{1}", "HEAD@{1}"],
  ["a{b}c", "a{b}c"],
  ["HEAD~1", "HEAD~1"],
  ["[", "["],
  ["a]", "a]"],
  ["'*'", "*"],
  ["\\*", "*"],
  ["a\\\nb", "ab"],
  ["$HOME", null, "expansion"],
  ['"$HOME"', null, "expansion"],
  ["${x}", null, "expansion"],
  ["$(id)", null, "expansion"],
  ["`id`", null, "expansion"],
  ["$((1+1))", null, "expansion"],
  ["*.ts", null, "glob"],
  ["?", null, "glob"],
  ["[ab]", null, "glob"],
  ["{a,b}", null, "brace"],
  ["{1..3}", null, "brace"],
  ['{a,"b"}', null, "brace"],
  ["-c{,}", null, "brace"],
  ["~", null, "tilde"],
  ["~/x", null, "tilde"],
  ["$'\\x41'", null, "dollar_quote"],
  ['$"x"', null, "dollar_quote"],
  ["<(ls)", null, "expansion"],
  ["é", "é"],
  ["'日本'", "日本"],
];

describe("wordValue: quote removal, and what stays dynamic", () => {
  test.each(CASES)("%j", (word, expected, why) => {
    const v = value(word);
    expect(v.value).toBe(expected);
    if (why) expect(v.why).toBe(why);
  });
});
