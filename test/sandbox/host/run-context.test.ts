import { mkdirSync, readlinkSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { localFdTracker } from "../../../src/sandbox/host/fd-tracker.js";
import { anchored, fdPath, RunContext } from "../../../src/sandbox/host/run-context.js";
import { tempTree } from "../helpers.js";

/*
 * A root becomes a preopen only when it is a directory at exactly its canonical path: a symlinked,
 * relative or odd spelling would let the guest-visible name and the host object disagree.
 */

let base: string;
let cleanup: () => void;
beforeAll(() => {
  ({ dir: base, cleanup } = tempTree("warden-doors-"));
  mkdirSync(join(base, "real"));
  writeFileSync(join(base, "file"), "x");
  symlinkSync(join(base, "real"), join(base, "link"));
});
afterAll(() => cleanup());

describe("RunContext root doors", () => {
  const refused: [string, (b: string) => string][] = [
    ["a symlink to a directory", (b) => join(b, "link")],
    ["a path through a symlink", (b) => join(b, "link") + "/."],
    ["a relative path", () => "real"],
    ["a path with `..`", (b) => join(b, "real") + "/../real"],
    ["a trailing slash", (b) => join(b, "real") + "/"],
    ["a NUL byte", (b) => join(b, "real") + "\0"],
    ["a regular file", (b) => join(b, "file")],
    ["a missing path", (b) => join(b, "missing")],
  ];

  test.each(refused)("refuses %s", (_name, path) => {
    const hostPath = path(base);
    const ctx = new RunContext({ preopens: [{ hostPath, writable: true }], denyGlobs: [] }, localFdTracker());
    expect(ctx.doors).toEqual([]);
    expect(ctx.openCount).toBe(0);
    expect(ctx.denials.map((d) => d.rule)).toEqual(["sandbox.escape"]);
  });

  test("opens a directory at its canonical path", () => {
    const ctx = new RunContext({ preopens: [{ hostPath: join(base, "real"), writable: false }], denyGlobs: [] }, localFdTracker());
    expect(ctx.doors.map((d) => [d.hostPath, d.writable])).toEqual([[join(base, "real"), false]]);
    ctx.closeAll();
    expect(ctx.openCount).toBe(0);
  });

  test("keeps a bounded number of distinct denials", () => {
    const ctx = new RunContext({ preopens: [], denyGlobs: [] }, localFdTracker());
    for (let i = 0; i < 1000; i++) ctx.refuse("r", `/p${i}`, "x", 1);
    for (let i = 0; i < 10; i++) ctx.refuse("r", "/p0", "x", 1);
    expect(ctx.denials.length).toBe(64);
  });
});

describe("descriptor paths in /proc", () => {
  test("/proc/<pid>/fd when /proc/self is this process (else /proc/self/fd), naming the same objects", () => {
    const dir = readlinkSync("/proc/self") === String(process.pid) ? `/proc/${process.pid}/fd` : "/proc/self/fd";
    expect(fdPath(7)).toBe(`${dir}/7`);
    expect(anchored(7, "a.txt")).toBe(`${dir}/7/a.txt`);
    expect(anchored(7, "")).toBe(`${dir}/7/.`);
    const ctx = new RunContext({ preopens: [{ hostPath: join(base, "real"), writable: false }], denyGlobs: [] }, localFdTracker());
    const door = ctx.doors[0]!;
    expect(readlinkSync(fdPath(door.fd))).toBe(readlinkSync(`/proc/self/fd/${door.fd}`));
    expect(ctx.hostPathOf(door.fd)).toBe(join(base, "real"));
    ctx.closeAll();
  });
});
