import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { requireBinary } from "./engines/require-binary.js";
import { MODES, modeArgs, seen, triesFor, type Mode } from "./modes.js";
import type { WardenClient } from "./warden-client.js";
import { probe, raceProbes, SWAPPER } from "./escape-probes.js";
import { canary, makeTempDir, removeDir, writeTree } from "./tree.js";

/**
 * A background command that makes `own/d1/.env` (holding `secret`) and exchanges `own/d1` with
 * `own/d2` in bursts, and tries the same with `pre/x` (holding a `.env` it cannot see) and `pre/y`,
 * writing how many exchanges of each pair worked to `counts.txt` now and then.
 */
function denySwapper(secret: string): string {
  return `python3 -c 'import ctypes, os, random, time
libc = ctypes.CDLL(None, use_errno=True)
os.makedirs("own/d1", exist_ok=True)
os.makedirs("own/d2", exist_ok=True)
open("own/d1/.env", "w").write("${secret}\\n")
open("own/d2/plain.txt", "w").write("PLAIN\\n")
own = pre = 0
end = time.time() + 600
while time.time() < end:
    for _ in range(random.randint(1, 200)):
        own += libc.renameat2(-100, b"own/d1", -100, b"own/d2", 2) == 0
        pre += libc.renameat2(-100, b"pre/x", -100, b"pre/y", 2) == 0
    open("counts.tmp", "w").write("%d %d" % (own, pre))
    os.rename("counts.tmp", "counts.txt")
    time.sleep(random.random() * 0.3)
'`;
}

/**
 * The red team's escapes of the command sandbox (issue 10), through the real server, the default
 * policy and real bubblewrap, each with a canary outside the roots. What the attacker may use is
 * what the default policy allows: python3, mv, background commands. `start` starts `warden serve`
 * with the given root flags on the backend under test (test/server/command-escape.test.ts: native,
 * in both modes; test/exec/slurm/escape-slurm.test.ts: slurm; test/exec/docker/escape-suite-docker.test.ts:
 * docker, the deny case). The attacks made from commands run in each of `modes` (test/support/modes.ts);
 * in overlay mode the attacker's tree is the workspace's view. `cases` narrows the suite (default: all).
 */
export type EscapeCase = "pin-swap" | "deny-race" | "nested-root" | "host-moves" | "cwd";
export function commandEscapeSuite(
  title: string,
  start: (args: string[]) => Promise<WardenClient>,
  allTries: number,
  modes: Mode[] = MODES,
  cases: readonly EscapeCase[] = ["pin-swap", "deny-race", "nested-root", "host-moves", "cwd"],
): void {
  const has = (c: EscapeCase) => cases.includes(c);
  describe(title, () => {
    let base: string;
    let secret: string;
    let w: WardenClient;

    beforeAll(() => {
      // Missing tools fail the file with the package to install; they never skip it.
      requireBinary("bwrap", "bubblewrap");
      requireBinary("python3", "python3");
      base = makeTempDir("warden-escape-");
      secret = canary("ESCAPE");
      // Each mode attacks a tree of its own (in overlay mode a directory of the real tree cannot be renamed).
      writeTree(base, { "outside/canary.txt": secret, ...Object.fromEntries(modes.flatMap((m) => [[`${m}/a/keep.txt`, "work\n"], [`${m}/a/sub/ro/ro.txt`, "read-only\n"]])) });
    });
    afterAll(async () => {
      await w?.close();
      removeDir(base);
    });

    const outside = () => join(base, "outside");
    const pwned = () => readdirSync(outside()).filter((n) => n.startsWith("pwned-"));

    describe.each(modes)("from commands (%s mode)", (mode: Mode) => {
      const tries = triesFor(mode, allTries);
      if (has("pin-swap")) it(`a pin swapped for a symlink to / by a background command never binds the host (${tries} tries)`, async () => {
        const root = join(base, mode, "a");
        w = await start(["--root", root, ...modeArgs(mode, join(base, mode))]);
        const bg = await w.call("execute_command", { command: SWAPPER, background: true });
        expect(bg.isError, w.text(bg)).toBeFalsy();
        const handle = (bg.structuredContent as { handle: string }).handle;
        const { ran, refused, leaks, rules } = await raceProbes(
          async (command) => {
            const r = await w.call("execute_command", { command }).catch((err: unknown) => {
              throw new Error(`the server stopped answering (${(err as Error).message}); its stderr:\n${w.stderr()}`);
            });
            return { isError: r.isError === true, text: w.text(r) };
          },
          outside(),
          secret,
          tries,
        );
        const swapsFile = seen(mode, w, join(root, "swaps.txt"));
        const swaps = existsSync(swapsFile) ? Number(readFileSync(swapsFile, "utf8")) : 0;
        await w.call("kill_process", { handle });
        console.log(`pin swap race (${mode} mode): ${tries} tries, ${ran} ran, ${refused} refused (${JSON.stringify(Object.fromEntries(rules))}), ${leaks} leaks, >= ${swaps} swaps`);
        expect(swaps, "the swapper must have been swapping during the tries").toBeGreaterThan(0);
        expect(leaks).toBe(0);
        expect(pwned()).toEqual([]);
        expect(ran, "commands still run while the swap goes on").toBeGreaterThan(0);
        // Only the refusals this race can cause: the plan's walk, the gate's check, or a policy denial of the probe itself.
        for (const rule of rules.keys()) expect(["sandbox.changed", "sandbox.mounts"]).toContain(rule);
        await w.close();
      }, 600_000);

      if (has("deny-race")) it(`filesystem.deny under a rename race by a background command: no .env ever shows (${Math.ceil(tries / 4)} tries)`, async () => {
        const root = join(base, mode, "deny");
        // A secret already there (the background command's own view masks and pins it: it cannot move it)...
        writeTree(base, { [`${mode}/deny/pre/x/.env`]: `${secret}\n`, [`${mode}/deny/pre/y/plain.txt`]: "PLAIN\n" });
        w = await start(["--root", root, ...modeArgs(mode, join(base, mode))]);
        // ...and one it makes itself (it sees that one): it exchanges both pairs in bursts, counting what worked.
        const bg = await w.call("execute_command", { command: denySwapper(secret), background: true });
        expect(bg.isError, w.text(bg)).toBeFalsy();
        const handle = (bg.structuredContent as { handle: string }).handle;
        const countsFile = seen(mode, w, join(root, "counts.txt"));
        for (let i = 0; i < 200 && !existsSync(countsFile); i++) await new Promise((r) => setTimeout(r, 50));
        let ran = 0;
        let shown = 0;
        let refused = 0;
        let leaks = 0;
        for (let i = 0; i < Math.ceil(tries / 4); i++) {
          const r = await w.call("execute_command", { command: "cat pre/x/.env pre/y/.env own/d1/.env own/d2/.env pre/y/plain.txt pre/x/plain.txt own/d1/plain.txt own/d2/plain.txt 2>/dev/null; true" });
          const text = w.text(r);
          if (text.includes(secret)) leaks++;
          if (r.isError) refused++;
          else {
            ran++;
            if (text.includes("PLAIN")) shown++;
          }
        }
        const [own, pre] = existsSync(countsFile) ? readFileSync(countsFile, "utf8").trim().split(" ").map(Number) : [0, 0];
        await w.call("kill_process", { handle });
        console.log(`deny rename race (${mode} mode): ${Math.ceil(tries / 4)} tries, ${ran} ran (${shown} with the tree shown), ${refused} refused, ${leaks} leaks; the background command exchanged its own pair ${own} times, the pre-existing pair ${pre} times`);
        expect(leaks).toBe(0);
        expect(own, "the background command must have been exchanging its own pair").toBeGreaterThan(0);
        expect(pre, "a directory holding a masked secret cannot be moved from a sandbox").toBe(0);
        expect(shown, "commands still run and see the tree while the exchanges go on").toBeGreaterThan(0);
        expect(readFileSync(join(root, "pre", "x", ".env"), "utf8")).toBe(`${secret}\n`);
        await w.close();
      }, 600_000);

      if (has("cwd")) it("a command started in a masked directory sees it empty, and nothing hidden through the sandbox's pid 1 (/proc/1/cwd)", async () => {
        const root = join(base, mode, "cwd");
        writeTree(base, { [`${mode}/cwd/.ssh/id_rsa`]: `${secret}\n`, [`${mode}/cwd/.env`]: `${secret}\n`, [`${mode}/cwd/sub/keep.txt`]: "KEEP\n" });
        w = await start(["--root", root, ...modeArgs(mode, join(base, mode))]);
        // Every place a secret could show from there: its own directory, the root, and pid 1's (bubblewrap's) view.
        const reader = `python3 -c 'import os
for p in ["id_rsa", "../.env", "/proc/1/cwd/id_rsa", "/proc/1/cwd/.env", "/proc/1/cwd/.ssh/id_rsa", "/proc/1/cwd/../.env", "/proc/1/cwd/../.ssh/id_rsa"]:
    try:
        print(p, open(p).read())
    except OSError as e:
        print(p, "unreadable", e.errno)
print("cwd:" + os.getcwd(), sorted(os.listdir(".")))'`;
        const ran: string[] = [];
        for (const dir of [".ssh", "sub"]) {
          const r = await w.call("execute_command", { command: reader, working_directory: join(root, dir) });
          const text = w.text(r);
          if (!r.isError) ran.push(dir);
          expect(text).not.toContain(secret);
          // It ran there (in .ssh, the policy may also refuse the working directory outright: never a secret either way).
          if (dir === "sub") expect(r.isError, text).toBeFalsy();
          if (!r.isError) expect(text).toContain(`cwd:${join(root, dir)}`);
          if (dir === "sub") expect(text).toContain("'keep.txt'");
        }
        console.log(`cwd case (${mode} mode): ran in ${ran.join(", ")}; no secret shown`);
        await w.close();
      }, 120_000);

      if (has("nested-root")) it("a nested read-only root: its parent cannot be moved from a command, nor replaced by a symlink to /", async () => {
        const root = join(base, mode, "a");
        w = await start(["--root", root, "--read-only", join(root, "sub", "ro"), ...modeArgs(mode, join(base, mode))]);
        const attack = await w.call("execute_command", {
          command: `mv sub sub2 && mkdir sub && python3 -c 'import os; os.symlink("/", "sub/ro")'`,
        });
        expect(w.text(attack)).toMatch(/busy/i); // sub is a mount point in every sandbox: rename fails with EBUSY
        expect(existsSync(seen(mode, w, join(root, "sub", "ro", "ro.txt")))).toBe(true);
        const write = await w.call("execute_command", { command: `python3 -c 'open("sub/ro/ro.txt", "w").write("pwned")'` });
        expect(write.isError || /Read-only file system/.test(w.text(write))).toBe(true);
        expect(readFileSync(seen(mode, w, join(root, "sub", "ro", "ro.txt")), "utf8")).toBe("read-only\n");
        expect(readFileSync(join(root, "sub", "ro", "ro.txt"), "utf8")).toBe("read-only\n");
        const look = await w.call("execute_command", { command: probe(outside(), "nested") });
        expect(w.text(look)).toContain("absent");
        expect(w.text(look)).not.toContain(secret);
        expect(pwned()).toEqual([]);
        await w.close();
      });
    });

    /**
     * Moves of the real tree by another process on the host (normal mode: they are the roots; in overlay
     * mode the workspace holds the real root by descriptor and its view does not move with it).
     */
    if (has("host-moves")) describe("from the host side", () => {
      it("a nested read-only root moved and replaced by a symlink to / outside the server: refused by name, still read-only where it went", async () => {
        const root = join(base, "b");
        writeTree(base, { "b/sub/ro/ro.txt": "read-only\n" });
        w = await start(["--root", root, "--read-only", join(root, "sub", "ro")]);
        // Runs before the move, so the runtime's runners hold both roots open (sandbox/host/door-cache.ts).
        expect(w.text(await w.call("read_file", { path: join(root, "sub", "ro", "ro.txt") }))).toContain("read-only");
        expect((await w.call("write_file", { path: join(root, "before.txt"), content: "x" })).isError).toBeFalsy();
        // What the red team did from a command, done here by another process on the host.
        renameSync(join(root, "sub"), join(root, "sub2"));
        mkdirSync(join(root, "sub"));
        symlinkSync("/", join(root, "sub", "ro"));

        const cmd = await w.call("execute_command", { command: probe(outside(), "moved") });
        expect(cmd.isError).toBe(true);
        expect(w.text(cmd)).toContain("roots.moved");
        expect(w.text(cmd)).toContain(join(root, "sub", "ro"));
        expect(w.text(cmd)).not.toContain(secret);

        // Finding 3: the read-only root's own directory, reached through the read-write root under its new name.
        const through = await w.call("write_file", { path: join(root, "sub2", "ro", "ro.txt"), content: "pwned" });
        expect(through.isError).toBe(true);
        expect(w.text(through)).toContain("filesystem.read_only");
        expect(readFileSync(join(root, "sub2", "ro", "ro.txt"), "utf8")).toBe("read-only\n");
        const created = await w.call("write_file", { path: join(root, "sub2", "ro", "new.txt"), content: "pwned" });
        expect(created.isError).toBe(true);
        expect(existsSync(join(root, "sub2", "ro", "new.txt"))).toBe(false);

        // The old path leads elsewhere now (to / through the symlink): refused by name, never re-resolved.
        for (const [tool, args] of [
          ["read_file", { path: join(root, "sub", "ro", "etc", "hostname") }],
          ["write_file", { path: join(root, "sub", "ro", "x.txt"), content: "x" }],
          ["list_directory", { path: join(root, "sub", "ro") }],
        ] as const) {
          const r = await w.call(tool, args);
          expect(r.isError, `${tool}: ${w.text(r)}`).toBe(true);
          expect(w.text(r)).toMatch(/roots\.moved|sandbox\.escape|roots\.outside/);
        }
        // The rest of the read-write root still works.
        const fine = await w.call("read_file", { path: join(root, "sub2", "ro", "ro.txt") });
        expect(w.text(fine)).toContain("read-only");
        expect(pwned()).toEqual([]);
        await w.close();
      });

      it("a configured root replaced after start is refused by name for commands and file tools", async () => {
        const root = join(base, "c");
        writeTree(base, { "c/f.txt": "one\n" });
        w = await start(["--root", root]);
        // Read once first: the root is then held open across runs, and must still be refused by name.
        expect(w.text(await w.call("read_file", { path: join(root, "f.txt") }))).toContain("one");
        expect(w.text(await w.call("list_directory", { path: root }))).toContain("f.txt");
        renameSync(root, join(base, "c-moved"));
        mkdirSync(root);
        const cmd = await w.call("execute_command", { command: "ls" });
        expect(w.text(cmd)).toContain("roots.moved");
        const read = await w.call("read_file", { path: join(root, "f.txt") });
        expect(read.isError).toBe(true);
        expect(w.text(read)).toContain("roots.moved");
        expect(w.text(read)).toContain(root);
        await w.close();
      });
    });
  });
}
