import { spawnSync } from "node:child_process";
import { chownSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeTempDir, removeDir } from "../support/tree.js";
import { WS_DRIVERS } from "./helpers.js";

const FIXTURE = join(import.meta.dirname, "fixtures", "unprivileged.mjs");
const SNAPSHOT_FIXTURE = join(import.meta.dirname, "fixtures", "live-snapshot.mjs");
const NOBODY = 65534;
const isRoot = process.getuid?.() === 0;
let dir: string;

beforeAll(() => {
  dir = makeTempDir("warden-ws-nobody-");
  mkdirSync(join(dir, "proj", "d"), { recursive: true });
  writeFileSync(join(dir, "proj", "a.txt"), "real\n");
  writeFileSync(join(dir, "proj", "b.txt"), "b\n");
  writeFileSync(join(dir, "proj", "d", "x"), "x\n");
  if (isRoot) for (const p of ["", "proj", "proj/a.txt", "proj/b.txt", "proj/d", "proj/d/x"]) chownSync(join(dir, p), NOBODY, NOBODY);
});
afterAll(() => removeDir(dir));

/** Runs a fixture as an unprivileged user (as root: drops to nobody for this one process) and returns what it printed. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
function asNobody(fixture: string, args: string[]): Record<string, any> {
  const argv = [process.execPath, fixture, ...args];
  const r = isRoot
    ? spawnSync("setpriv", [`--reuid=${NOBODY}`, `--regid=${NOBODY}`, "--clear-groups", "--", ...argv], { encoding: "utf8", env: { ...process.env, HOME: dir } })
    : spawnSync(argv[0]!, argv.slice(1), { encoding: "utf8" });
  expect(r.stderr).toBe("");
  const out = JSON.parse(r.stdout);
  expect(out.uid).not.toBe(0);
  return out;
}

describe.each(WS_DRIVERS)("without root: the user namespace recipe (%s driver)", (driver) => {
  it("an unprivileged user mounts the workspace, runs bubblewrap inside it, and writes only to the upper layer", () => {
    const out = asNobody(FIXTURE, [join(dir, `state-${driver}`), join(dir, "proj"), driver]);
    expect(out.driver).toBe(driver);
    expect(out.enter).toEqual(["nsenter", expect.stringMatching(/^--target=\d+$/), "--user", "--mount", "--preserve-credentials", "--"]);
    expect(out.bwrap).toMatchObject({ status: 0, stderr: "" });
    expect(out.bwrap.stdout).toMatch(/^real\n\d+\n$/);
    expect(out).toMatchObject({ merged: "sandboxed\n", realA: "real\n", realB: true, upperA: "sandboxed\n" });
    expect(out.changes).toEqual(["modified a.txt", "deleted b.txt"]);
  });

  it("takes a live checkpoint: the upper copied as a valid layer (whiteouts, an opaque directory, a file made before it and removed after)", () => {
    const out = asNobody(SNAPSHOT_FIXTURE, [join(dir, `snap-${driver}`), join(dir, "proj"), driver]);
    // The live state went on from the checkpoint: n.txt, made before it and removed after, stays gone.
    expect(out.live).toEqual(["modified a.txt", "deleted b.txt", "added c.txt", "deleted d/x", "added d/y"]);
    expect(out.reset).toEqual(["modified a.txt", "deleted b.txt", "deleted d/x", "added d/y", "added n.txt"]);
    // Mounted again after the reset, the view is the checkpoint's: d is the new directory alone.
    expect(out.view).toBe([".", "./a.txt", "./d", "./d/y", "./n.txt", "v1", ""].join("\n"));
  });
});
