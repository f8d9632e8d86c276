import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { inView, MODES, modeArgs, triesFor, type Mode } from "../support/modes.js";
import { startWarden, type WardenClient } from "../support/warden-client.js";
import { canary, makeTempDir, removeDir, writeTree } from "../support/tree.js";

/**
 * The swap race behind the official filesystem server's later advisories: another process flips a
 * directory inside the root between a real directory and a symlink to an outside directory while
 * the agent reads, writes and lists through it. The sandbox resolves and opens component by
 * component on open directory fds, so a flip can make a call fail but never leak or write outside.
 * In overlay mode the flipper runs inside the workspace's namespace, as a background command would:
 * it flips the merged view's directory for an absolute symlink that, from the server's side of
 * /proc/<holder>/root, names the host's outside directory.
 */
const ALL_TRIES = Number(process.env.WARDEN_RACE_TRIES ?? 3000);
let base: string;
let secret: string;
let w: WardenClient;
let flipper: ChildProcess;

const FLIP = `
const fs = require("fs");
const [swap, parked, outside, ms] = process.argv.slice(1);
const end = Date.now() + Number(ms);
let flips = 0;
while (Date.now() < end) {
  try { fs.renameSync(swap, parked); fs.symlinkSync(outside, swap); flips++; } catch {}
  try { fs.unlinkSync(swap); fs.renameSync(parked, swap); flips++; } catch {}
}
process.stdout.write(String(flips));
`;

describe.each(MODES)("%s mode", (mode: Mode) => {
  const TRIES = triesFor(mode, ALL_TRIES);
  beforeAll(async () => {
    base = makeTempDir("warden-race-");
    secret = canary("RACE");
    writeTree(base, {
      "allow/keep.txt": "kept\n",
      "outside/f.txt": secret,
      "outside/d/g.txt": secret,
      "outside/outside-only.txt": secret,
    });
    w = await startWarden(["--root", join(base, "allow"), ...modeArgs(mode, base)]);
    // Made through the server: in overlay mode a directory of the real tree cannot be renamed (EXDEV), one made in the view can.
    for (const path of ["swap/f.txt", "swap/d/g.txt"]) expect((await w.call("write_file", { path, content: "inside\n", create_dirs: true })).isError).toBeFalsy();
    const [file, ...pre] = [...inView(mode, w), process.execPath];
    flipper = spawn(file!, [...pre, "-e", FLIP, join(base, "allow/swap"), join(base, "allow/.parked"), join(base, "outside"), "600000"], {
      stdio: ["ignore", "pipe", "inherit"],
    });
  });

  afterAll(async () => {
    flipper?.kill("SIGKILL");
    await w?.close();
    removeDir(base);
  });

  it(`reads, writes and lists through a directory being swapped for an outside symlink never escape (${TRIES} tries each)`, async () => {
    let leaks = 0;
    let okReads = 0;
    let failedReads = 0;
    let okWrites = 0;
    for (let i = 0; i < TRIES; i++) {
      const [r, l, wr] = await Promise.all([
        w.call("read_file", { path: i % 2 ? "swap/f.txt" : "swap/d/g.txt" }),
        w.call("list_directory", { path: "swap", depth: 2 }),
        w.call("write_file", { path: `swap/w${i % 50}.txt`, content: "written" }),
      ]);
      const text = w.text(r) + w.text(l);
      if (text.includes(secret) || w.text(l).includes("outside-only.txt")) leaks++;
      if (r.isError) failedReads++;
      else okReads++;
      if (!wr.isError) okWrites++;
    }
    const writtenOutside = readdirSync(join(base, "outside")).filter((f) => f.startsWith("w"));
    console.log(`swap race (${mode} mode): ${TRIES} reads (${okReads} ok, ${failedReads} refused), ${TRIES} lists, ${TRIES} writes (${okWrites} ok); leaks=${leaks}, files written outside=${writtenOutside.length}`);
    expect(leaks).toBe(0);
    expect(writtenOutside).toEqual([]);
    expect(existsSync(join(base, "outside/f.txt"))).toBe(true);
    // The race must really have happened: some calls went through, some hit the symlink.
    expect(okReads).toBeGreaterThan(0);
    expect(failedReads).toBeGreaterThan(0);
    // Only a bound for a hung run (3 x 3000 calls take 10-60 s depending on the load), not a timing assertion.
  }, 300_000);
});
