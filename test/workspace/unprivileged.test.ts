import { spawnSync } from "node:child_process";
import { chownSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeTempDir, removeDir } from "../support/tree.js";
import { WS_DRIVERS } from "./helpers.js";

const FIXTURE = join(import.meta.dirname, "fixtures", "unprivileged.mjs");
const NOBODY = 65534;
const isRoot = process.getuid?.() === 0;
let dir: string;

beforeAll(() => {
  dir = makeTempDir("warden-ws-nobody-");
  mkdirSync(join(dir, "proj"));
  writeFileSync(join(dir, "proj", "a.txt"), "real\n");
  writeFileSync(join(dir, "proj", "b.txt"), "b\n");
  if (isRoot) for (const p of ["", "proj", "proj/a.txt", "proj/b.txt"]) chownSync(join(dir, p), NOBODY, NOBODY);
});
afterAll(() => removeDir(dir));

describe.each(WS_DRIVERS)("without root: the user namespace recipe (%s driver)", (driver) => {
  it("an unprivileged user mounts the workspace, runs bubblewrap inside it, and writes only to the upper layer", () => {
    // As root, drop to nobody for this one process; as a normal user, run as is.
    const argv = [process.execPath, FIXTURE, join(dir, `state-${driver}`), join(dir, "proj"), driver];
    const r = isRoot
      ? spawnSync("setpriv", [`--reuid=${NOBODY}`, `--regid=${NOBODY}`, "--clear-groups", "--", ...argv], { encoding: "utf8", env: { ...process.env, HOME: dir } })
      : spawnSync(argv[0]!, argv.slice(1), { encoding: "utf8" });
    expect(r.stderr).toBe("");
    const out = JSON.parse(r.stdout);
    expect(out.uid).not.toBe(0);
    expect(out.driver).toBe(driver);
    expect(out.enter).toEqual(["nsenter", expect.stringMatching(/^--target=\d+$/), "--user", "--mount", "--preserve-credentials", "--"]);
    expect(out.bwrap).toMatchObject({ status: 0, stderr: "" });
    expect(out.bwrap.stdout).toMatch(/^real\n\d+\n$/);
    expect(out).toMatchObject({ merged: "sandboxed\n", realA: "real\n", realB: true, upperA: "sandboxed\n" });
    expect(out.changes).toEqual(["modified a.txt", "deleted b.txt"]);
  });
});
