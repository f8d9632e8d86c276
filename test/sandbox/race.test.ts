import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { closeSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import type { SandboxScope } from "../../src/sandbox/types.js";
import { closeHeld } from "../../src/config/held-roots.js";
import { mergedRootOpener } from "../../src/config/merged-roots.js";
import { mergedRootsOf } from "../../src/server/overlay-mode.js";
import { openWorkspace, type WorkspaceHandle } from "../../src/workspace/index.js";
import { driverOf, isWorkspaceMode, MODES, triesFor, type Mode } from "../support/modes.js";
import { Harness } from "./host/harness.js";
import { probe, probeSandbox, tempTree } from "./helpers.js";

/*
 * The swap race (the official filesystem server's GHSA class): another *process* flips a directory
 * inside the root between a real directory and a symlink to an outside directory holding a canary,
 * as fast as it can, while thousands of reads, writes, lists, stats, mkdirs, renames and unlinks go
 * through the sandbox. Required: 0 canary leaks and 0 files created or removed outside.
 * In overlay mode (serve --overlay) the root is a workspace's merged view held by descriptor, and the
 * flipper runs inside the workspace's namespace: its symlink is absolute, so from the server's side
 * of /proc/<holder>/root it names the host's outside directory.
 */

const CANARY = "RACE-CANARY-91d2";

/** The other process: flips sw (dir <-> symlink to outside), holding each state ~20 us; stops when STOP exists. */
const FLIPPER = `
const fs = require("fs");
const [sw, park, target, stop] = process.argv.slice(1);
const hold = () => { const until = process.hrtime.bigint() + 20000n; while (process.hrtime.bigint() < until); };
let flips = 0;
const deadline = Date.now() + 300000;
process.send("ready");
for (let i = 0; ; i++) {
  if ((i & 255) === 0 && (fs.existsSync(stop) || Date.now() > deadline)) break;
  try {
    fs.renameSync(sw, park);
    fs.symlinkSync(target, sw);
    flips++;
    hold();
    fs.unlinkSync(sw);
    fs.renameSync(park, sw);
    hold();
  } catch {}
}
try { fs.unlinkSync(sw); } catch {}
try { fs.renameSync(park, sw); } catch {}
process.stdout.write(String(flips));
process.disconnect();
`;

describe.each(MODES)("%s mode", (mode: Mode) => {
  const t = tempTree("warden-race-");
  const root = join(t.dir, "root");
  const outside = join(t.dir, "outside");
  let scope: SandboxScope = { preopens: [{ hostPath: root, writable: true }], denyGlobs: [] };
  let ws: WorkspaceHandle | undefined;

  function outsideListing(): string {
    return readdirSync(outside, { recursive: true }).map(String).sort().join(",");
  }

  let flipper: ChildProcess;
  let before = "";

  beforeAll(async () => {
    mkdirSync(root, { recursive: true });
    let enter: string[] = [];
    if (isWorkspaceMode(mode)) {
      ws = await openWorkspace({ stateDir: join(t.dir, "state"), name: "race", roots: [root], driver: driverOf(mode) });
      scope = { preopens: [{ hostPath: root, writable: true, held: mergedRootOpener(mergedRootsOf(ws, [root]))(root) }], denyGlobs: [] };
      enter = ws.enterArgv();
    }
    // Made where the flipper runs (in overlay mode: in the view, so it can rename them).
    const made = spawnSync(enter[0] ?? "/bin/sh", [...enter.slice(1), ...(enter.length ? ["/bin/sh"] : []), "-c", 'mkdir -p "$1/sw/sub" && printf inside > "$1/sw/f.txt" && printf inside-g > "$1/sw/sub/g.txt"', "mk", root]);
    expect(made.status, String(made.stderr)).toBe(0);
    mkdirSync(join(outside, "sub"), { recursive: true });
    writeFileSync(join(outside, "f.txt"), CANARY);
    writeFileSync(join(outside, "sub/g.txt"), CANARY);
    writeFileSync(join(outside, "victim.txt"), CANARY);
    writeFileSync(join(outside, `canary-name-${CANARY}.txt`), CANARY);
    before = outsideListing();
    const [file, ...pre] = [...enter, process.execPath];
    flipper = spawn(file!, [...pre, "-e", FLIPPER, join(root, "sw"), join(root, ".park"), outside, join(t.dir, "STOP")], { stdio: ["ignore", "pipe", "inherit", "ipc"] });
    await new Promise((resolve) => flipper.once("message", resolve));
  });

  async function stopFlipper(): Promise<number> {
    let out = "";
    flipper.stdout!.on("data", (d) => (out += d));
    const exited = new Promise((resolve) => flipper.once("exit", resolve));
    writeFileSync(join(t.dir, "STOP"), "");
    await exited;
    return Number(out);
  }

  afterAll(async () => {
    if (flipper.exitCode === null) await stopFlipper();
    const held = scope.preopens[0]!.held;
    if (held) closeHeld(held);
    await ws?.close();
    t.cleanup();
  });

  interface Tally {
    tries: number;
    leaks: number;
    refusedOrMissing: number;
    ok: number;
  }

  describe("directory <-> symlink swap race", () => {
    const inProcess = triesFor(mode, 20_000);
    const pool = triesFor(mode, 3000);
    test(`in-process runtime: reads, lists, stats, writes, mkdirs, renames, unlinks (${inProcess} tries)`, () => {
      const tally: Tally = { tries: 0, leaks: 0, refusedOrMissing: 0, ok: 0 };
      const h = new Harness(scope);
      for (let i = 0; i < inProcess; i++) {
        let leaked = false;
        let ok = false;
        switch (i % 8) {
          case 0: {
            const r = h.read("sw/f.txt");
            leaked = (r.data ?? "").includes(CANARY);
            ok = r.code === "OK";
            break;
          }
          case 1: {
            const r = h.readdir("sw");
            leaked = (r.data ?? "").includes("canary-name");
            ok = r.code === "OK";
            break;
          }
          case 2: {
            const r = h.stat("sw/f.txt");
            leaked = r.data?.endsWith(`size=${CANARY.length}`) ?? false;
            ok = r.code === "OK";
            break;
          }
          case 3:
            ok = h.write(`sw/w-${i}.txt`, "PWNED").code === "OK";
            break;
          case 4:
            ok = h.mkdir(`sw/d-${i}`).code === "OK";
            break;
          case 5:
            ok = h.rename("sw/f.txt", "sw/f.txt").code === "OK";
            break;
          case 6:
            ok = h.unlink("sw/victim.txt").code === "OK";
            break;
          case 7: {
            const r = h.read("sw/sub/g.txt");
            leaked = (r.data ?? "").includes(CANARY);
            ok = r.code === "OK";
            break;
          }
        }
        tally.tries++;
        if (leaked) tally.leaks++;
        if (ok) tally.ok++;
        else tally.refusedOrMissing++;
      }
      expect(h.close()).toBe(0);
      console.log(`[race in-process, ${mode} mode] ${JSON.stringify(tally)}`);
      expect(tally.leaks).toBe(0);
      expect(outsideListing()).toBe(before);
      // The race was real: some operations met the symlink (or the gap) and were refused.
      expect(tally.refusedOrMissing).toBeGreaterThan(0);
      expect(tally.ok).toBeGreaterThan(0);
    });

    test(`through the worker pool with real WASI code (${pool} tries)`, async () => {
      const sandbox = probeSandbox(2);
      const tally: Tally = { tries: 0, leaks: 0, refusedOrMissing: 0, ok: 0 };
      const sw = join(root, "sw");
      const t0 = performance.now();
      const ops = (i: number): string[] =>
        [
          ["read", `${sw}/f.txt`],
          ["readdir", sw],
          ["write", `${sw}/pw-${i}.txt`, "PWNED"],
          ["stat", `${sw}/f.txt`],
          ["mkdir", `${sw}/pd-${i}`],
          ["read", `${sw}/sub/g.txt`],
          ["append", `${sw}/f2.txt`, "x"],
          ["unlink", `${sw}/victim.txt`],
        ][i % 8]!;
      try {
        for (let i = 0; i < pool; i += 2) {
          if (i % 500 === 0) console.log(`[race pool] at ${i} after ${Math.round(performance.now() - t0)} ms`);
          const results = await Promise.all([probe(sandbox, scope, ops(i)), probe(sandbox, scope, ops(i + 1))]);
          for (const r of results) {
            tally.tries++;
            if (r.out.includes(CANARY) || r.out.includes("canary-name") || r.out.includes(`size=${CANARY.length} `)) tally.leaks++;
            if (r.exitCode === 0) tally.ok++;
            else tally.refusedOrMissing++;
          }
        }
      } finally {
        await sandbox.close();
      }
      const flips = await stopFlipper();
      console.log(`[race pool, ${mode} mode] ${JSON.stringify(tally)} flips=${flips}`);
      expect(tally.leaks).toBe(0);
      expect(outsideListing()).toBe(before);
      expect(readFileSync(join(outside, "victim.txt"), "utf8")).toBe(CANARY);
      expect(flips).toBeGreaterThan(100);
    });
  });
});
