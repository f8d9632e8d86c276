import { describe, expect, it } from "vitest";
import { loadParser, namedWords } from "../../../src/policy/command/index.js";

describe("namedWords: the words a command line hands to its programs", () => {
  it.each([
    ["cat /etc/shadow", [["/etc/shadow", "/etc/shadow", false]]],
    ["cat ~/.ssh/id_rsa", [["~/.ssh/id_rsa", null, true]]],
    ["git status && cat 'a b' > out.txt", [["status", "status", false], ["'a b'", "a b", false], ["out.txt", "out.txt", false]]],
    ["ls $HOME *.ts", [["$HOME", null, false], ["*.ts", null, false]]],
    ["timeout 5 cat x | tee /tmp/y", [["5", "5", false], ["cat", "cat", false], ["x", "x", false], ["/tmp/y", "/tmp/y", false]]],
    ["echo $(cat /etc/passwd)", [["$(cat /etc/passwd)", null, false], ["/etc/passwd", "/etc/passwd", false]]],
    ["cat <<EOF\nx\nEOF", []],
    ["if (", []],
  ] as const)("%j", async (source, want) => {
    const words = namedWords(await loadParser(), source).map((w) => [w.text, w.value, w.tilde]);
    expect(words).toEqual(want);
  });
});
