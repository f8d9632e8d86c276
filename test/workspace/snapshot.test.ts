import { spawnSync } from "node:child_process";
import { chownSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeTempDir, removeDir } from "../support/tree.js";
import { WS_DRIVERS } from "./helpers.js";

const FIXTURE = join(import.meta.dirname, "fixtures", "live-snapshot.mjs");
const NOBODY = 65534;
const isRoot = process.getuid?.() === 0;
let dir: string;

beforeAll(() => {
  dir = makeTempDir("warden-ws-snap-");
  mkdirSync(join(dir, "proj", "d"), { recursive: true });
  writeFileSync(join(dir, "proj", "a.txt"), "real\n");
  writeFileSync(join(dir, "proj", "b.txt"), "b\n");
  writeFileSync(join(dir, "proj", "d", "x"), "x\n");
  if (isRoot) for (const p of ["", "proj", "proj/a.txt", "proj/b.txt", "proj/d", "proj/d/x"]) chownSync(join(dir, p), NOBODY, NOBODY);
});
afterAll(() => removeDir(dir));

describe.each(WS_DRIVERS)("a live checkpoint, without root (%s driver)", (driver) => {
  it("copies the upper as a valid layer: whiteouts, an opaque directory, a file made before it and removed after", () => {
    const argv = [process.execPath, FIXTURE, join(dir, `state-${driver}`), join(dir, "proj"), driver];
    const r = isRoot
      ? spawnSync("setpriv", [`--reuid=${NOBODY}`, `--regid=${NOBODY}`, "--clear-groups", "--", ...argv], { encoding: "utf8", env: { ...process.env, HOME: dir } })
      : spawnSync(argv[0]!, argv.slice(1), { encoding: "utf8" });
    expect(r.stderr).toBe("");
    const out = JSON.parse(r.stdout) as { uid: number; live: string[]; reset: string[]; view: string };
    expect(out.uid).not.toBe(0);
    // The live state went on from the checkpoint: n.txt, made before it and removed after, stays gone.
    expect(out.live).toEqual(["modified a.txt", "deleted b.txt", "added c.txt", "deleted d/x", "added d/y"]);
    expect(out.reset).toEqual(["modified a.txt", "deleted b.txt", "deleted d/x", "added d/y", "added n.txt"]);
    // Mounted again after the reset, the view is the checkpoint's: d is the new directory alone.
    expect(out.view).toBe([".", "./a.txt", "./d", "./d/y", "./n.txt", "v1", ""].join("\n"));
  });
});
