import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { describe, expect, test } from "vitest";
import { loadParser, parseShell } from "../../../src/policy/command/parse.js";
import { wordValue } from "../../../src/policy/command/words.js";

/**
 * What the policy decides on must be what the shell runs: for words the policy calls literal, the
 * value it computes must equal what dash and bash pass to the program.
 */
const sh = await loadParser();
const SHELLS = ["/bin/dash", "/bin/bash"].filter((s) => existsSync(s));

const WORDS = [
  "plain",
  "a\\ b",
  "'single $HOME `x`'",
  '"double \\$HOME \\` \\" \\\\ \\a \\n"',
  "p'w'\"n\"",
  "\\-c",
  "-\\c",
  '"-c"',
  "'--upload-pack=x'",
  "HEAD@{1}",
  "a{b}c",
  "x{}",
  "[",
  "a]",
  "\\*",
  "'*'",
  "a\\\nb",
  '"a\\\nb"',
  "'a\\\nb'",
  "é",
  "'tab\there'",
  "back\\\\slash",
  "'it'\\''s'",
  "--format='%H %s'",
  "key=\"v a l\"",
];

describe.skipIf(SHELLS.length === 0)("literal words mean the same to the policy and to the shell", () => {
  test.each(WORDS)("%j", (word) => {
    const parsed = parseShell(sh, `printf '%s\\0' ${word}`, "bash");
    if (!parsed.ok) throw new Error(parsed.message);
    const v = wordValue(parsed.file.Stmts[0].Cmd.Args[2]);
    expect(v.value).not.toBeNull();
    for (const shell of SHELLS) {
      const out = execFileSync(shell, ["-c", `printf '%s\\0' ${word}`], { encoding: "utf8" });
      expect(out, shell).toBe(`${v.value}\0`);
    }
  });
});
