import { spawnSync } from "node:child_process";
import { mkdtempSync, realpathSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { buildKillCommand, buildRemoteCommand, PID_MARKER } from "../../../src/exec/ssh/remote-command.js";
import { cwdWithinRoots } from "../../../src/exec/ssh/remote-roots.js";
import { shellJoin, shellQuote } from "../../../src/exec/shell-quote.js";

const NASTY = ["plain", "", "a b", "it's", "$(touch /tmp/pwned)", "`id`", "a\nb", "*", "~", "x;y", "--", "-c", '"q"', "\\", "$HOME", "!"];

describe("remote command lines (a real /bin/sh parses them)", () => {
  it.each(NASTY)("shellQuote keeps %j literal", (word) => {
    const r = spawnSync("/bin/sh", ["-c", `printf %s ${shellQuote(word)}`], { encoding: "utf8" });
    expect(r.stdout).toBe(word);
  });

  it("joins argv so every word arrives intact", () => {
    const r = spawnSync("/bin/sh", ["-c", `printf '[%s]' ${shellJoin(NASTY)}`], { encoding: "utf8" });
    expect(r.stdout).toBe(NASTY.map((w) => `[${w}]`).join(""));
  });

  it("builds cd + pid marker + exec env -i with exactly the request's environment", () => {
    const cmd = buildRemoteCommand({ argv: ["/bin/sh", "-c", 'echo "$A"; pwd; env | grep -c .'], cwd: "/tmp", env: { A: "it's $(x)", "BAD-NAME": "dropped" } });
    const r = spawnSync("/bin/sh", ["-c", cmd], { encoding: "utf8", env: { SECRET: "leak", PATH: "/usr/bin:/bin" } });
    expect(r.stderr).toMatch(new RegExp(`^${PID_MARKER}\\d+\\n$`));
    const lines = r.stdout.split("\n");
    expect(lines[0]).toBe("it's $(x)");
    expect(lines[1]).toBe("/tmp");
    expect(r.stdout).not.toContain("leak");
  });

  it("runs an approved script as shell -c", () => {
    const cmd = buildRemoteCommand({ argv: ["/bin/sh"], script: "echo a && echo 'b c'", cwd: "/", env: {} });
    expect(spawnSync("/bin/sh", ["-c", cmd], { encoding: "utf8" }).stdout).toBe("a\nb c\n");
  });

  it("fails with 126 when the directory does not exist", () => {
    const cmd = buildRemoteCommand({ argv: ["/bin/true"], cwd: "/no/such/dir", env: {} });
    expect(spawnSync("/bin/sh", ["-c", cmd]).status).toBe(126);
  });

  it("fails with 126 when the directory is not physically the canonical one (swapped for a symlink)", () => {
    const dir = mkdtempSync(join(tmpdir(), "wrc-"));
    try {
      symlinkSync("/tmp", join(dir, "swapped"));
      expect(spawnSync("/bin/sh", ["-c", buildRemoteCommand({ argv: ["/bin/true"], cwd: join(dir, "swapped"), env: {} })]).status).toBe(126);
      expect(spawnSync("/bin/sh", ["-c", buildRemoteCommand({ argv: ["/bin/pwd"], cwd: realpathSync(dir), env: {} })], { encoding: "utf8" }).stdout).toBe(`${realpathSync(dir)}\n`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("kill commands take only signal names and numbers", () => {
    expect(buildKillCommand(42, "SIGTERM")).toContain("kill -TERM -42");
    expect(() => buildKillCommand(42, "TERM; rm -rf /")).toThrow();
  });

  it.each([
    ["/srv/w", ["/srv/w"], true],
    ["/srv/w/sub", ["/srv/w"], true],
    ["/srv/w/../x", ["/srv/w"], false],
    ["/srv/wx", ["/srv/w"], false],
    ["relative", ["/srv/w"], false],
    ["/srv/w/./a/../b", ["/srv/w/"], true],
    ["/anything", ["/"], true],
  ] as const)("cwdWithinRoots(%j, %j) = %s", (cwd, roots, want) => {
    expect(cwdWithinRoots(cwd, roots)).toBe(want);
  });
});
