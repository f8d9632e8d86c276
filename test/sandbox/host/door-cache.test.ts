import { fstatSync, mkdirSync, readdirSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, test } from "vitest";
import { closeHeld, identityOf, openHostRoot } from "../../../src/config/held-roots.js";
import type { HeldDir } from "../../../src/policy/roots.js";
import { DoorCache } from "../../../src/sandbox/host/door-cache.js";
import { localFdTracker } from "../../../src/sandbox/host/fd-tracker.js";
import { RunContext } from "../../../src/sandbox/host/run-context.js";
import { tempTree } from "../helpers.js";

/*
 * A runner keeps the held roots it ran on open across its runs (sandbox/host/door-cache.ts). What
 * must not change: a kept descriptor is never the run's to close, a root moved after it was kept is
 * refused by name on the next run, a descriptor number the server reused for another directory
 * never finds the old one, and what is kept stays bounded.
 */

let base: string;
let cleanup: () => void;
const held: HeldDir[] = [];
const caches: DoorCache[] = [];
beforeAll(() => ({ dir: base, cleanup } = tempTree("warden-door-cache-")));
afterAll(() => cleanup());
afterEach(() => {
  for (const c of caches.splice(0)) c.close();
  for (const h of held.splice(0)) closeHeld(h);
});

function root(name: string): { path: string; held: HeldDir } {
  const path = join(base, name);
  mkdirSync(path, { recursive: true });
  writeFileSync(join(path, "f.txt"), name);
  const h = openHostRoot(path);
  held.push(h);
  return { path, held: h };
}
function cache(max?: number): DoorCache {
  const c = new DoorCache(max);
  caches.push(c);
  return c;
}
const isOpen = (fd: number) => {
  try {
    fstatSync(fd);
    return true;
  } catch {
    return false;
  }
};
const openFds = () => readdirSync("/proc/self/fd").length;
const run = (r: { path: string; held: HeldDir }, kept: DoorCache, writable = false) => {
  const ctx = new RunContext({ preopens: [{ hostPath: r.path, writable, held: r.held }], denyGlobs: [] }, localFdTracker(), undefined, kept);
  return ctx;
};

describe("DoorCache: held roots kept open across a runner's runs", () => {
  test("a kept root is opened once, is not the run's to close, and runs leave no descriptor behind", () => {
    const r = root("once");
    const kept = cache();
    const first = run(r, kept);
    const fd = first.doors[0]!.fd;
    expect(fd).not.toBe(r.held.fd);
    expect(first.openCount).toBe(0);
    first.closeAll();
    expect(isOpen(fd)).toBe(true);
    const before = openFds();
    for (let i = 0; i < 50; i++) {
      const ctx = run(r, kept);
      expect(ctx.doors.map((d) => d.fd)).toEqual([fd]);
      ctx.closeHost(fd); // what a module's fd_close on its preopen comes down to
      ctx.closeAll();
    }
    expect(isOpen(fd)).toBe(true);
    expect(openFds()).toBe(before);
    expect(kept.size).toBe(1);
  });

  test("a root moved after it was kept is refused by name on the next run, a read-only one stays read-only where it went", () => {
    const r = root("moving");
    const kept = cache();
    run(r, kept, true).closeAll();
    renameSync(r.path, `${r.path}-gone`);
    mkdirSync(r.path);
    const ctx = run(r, kept, true);
    expect(ctx.doors).toEqual([]);
    expect(ctx.denials.map((d) => [d.rule, d.path])).toEqual([["roots.moved", r.path]]);
    ctx.closeAll();

    const ro = root("ro-moving");
    const outer = root("outer");
    run(ro, kept).closeAll();
    renameSync(ro.path, join(outer.path, "inside"));
    // The read-write root now holds the read-only root's directory: nothing in it is writable.
    const both = new RunContext(
      { preopens: [{ hostPath: outer.path, writable: true, held: outer.held }, { hostPath: ro.path, writable: false, held: ro.held }], denyGlobs: [] },
      localFdTracker(),
      undefined,
      kept,
    );
    expect(both.doors.map((d) => d.hostPath)).toEqual([outer.path]);
    const door = both.doors[0]!;
    expect(both.writableAt(door, ["inside", "f.txt"], door.fd, "inside")).toBe(false);
    expect(both.writableAt(door, ["other.txt"], door.fd, "other.txt")).toBe(true);
    both.closeAll();
  });

  test("a held descriptor number reused for another directory finds that directory, not the kept one", () => {
    const a = root("reuse-a");
    const kept = cache();
    const fdA = run(a, kept).doors[0]!.fd;
    closeHeld(held.pop()!);
    const b = root("reuse-b");
    expect(b.held.fd).toBe(a.held.fd); // the kernel hands out the lowest free number
    const ctx = run(b, kept);
    const fdB = ctx.doors[0]!.fd;
    expect(fdB).not.toBe(fdA);
    expect(identityOf(fstatSync(fdB, { bigint: true }))).toEqual({ dev: b.held.dev, ino: b.held.ino });
    expect(ctx.hostPathOf(fdB)).toBe(b.path);
    ctx.closeAll();
  });

  test("a held descriptor that is not the directory it was is refused, and nothing is kept", () => {
    const a = root("ident-a");
    const b = root("ident-b");
    const kept = cache();
    const wrong: HeldDir = { fd: a.held.fd, dev: b.held.dev, ino: b.held.ino };
    const ctx = new RunContext({ preopens: [{ hostPath: a.path, writable: false, held: wrong }], denyGlobs: [] }, localFdTracker(), undefined, kept);
    expect(ctx.doors).toEqual([]);
    expect(ctx.denials.map((d) => [d.rule, d.reason])).toEqual([["sandbox.escape", "the held root is not the directory it was"]]);
    expect(kept.size).toBe(0);
    const gone: HeldDir = { fd: 1_000_000, dev: a.held.dev, ino: a.held.ino };
    expect(kept.get(gone)).toEqual({ refused: "the held root cannot be opened" });
  });

  test("at most `max` are kept: the least recently used are closed between runs", () => {
    const kept = cache(2);
    const roots = ["lru-1", "lru-2", "lru-3"].map(root);
    const fds = roots.map((r) => kept.get(r.held) as number);
    expect(kept.size).toBe(3); // get never closes: a run may be using every one
    kept.get(roots[0]!.held); // lru-1 used again: lru-2 is now the oldest
    kept.trim();
    expect(kept.size).toBe(2);
    expect([isOpen(fds[0]!), isOpen(fds[1]!), isOpen(fds[2]!)]).toEqual([true, false, true]);
    kept.close();
    expect(fds.map(isOpen)).toEqual([false, false, false]);
  });

  test("a workspace's merged view (held.via) and a root with lower layers are opened per run, not kept", () => {
    const r = root("via");
    const viaHeld: HeldDir = { ...r.held, via: "" };
    expect(DoorCache.keeps(viaHeld)).toBe(false);
    expect(DoorCache.keeps({ ...r.held, lower: { dir: { fd: r.held.fd, dev: r.held.dev, ino: r.held.ino }, layers: [], prefix: [] } })).toBe(false);
    const kept = cache();
    const ctx = new RunContext({ preopens: [{ hostPath: r.path, writable: false, held: viaHeld }], denyGlobs: [] }, localFdTracker(), undefined, kept);
    expect(ctx.doors.length).toBe(1);
    expect(ctx.openCount).toBe(1);
    expect(kept.size).toBe(0);
    const fd = ctx.doors[0]!.fd;
    ctx.closeAll();
    expect(isOpen(fd)).toBe(false);
  });
});
