import { closeSync, constants, lstatSync, mkdirSync, openSync, renameSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { DirStat } from "../../../src/sandbox/host/dir-stat.js";
import { createSandbox, type Sandbox } from "../../../src/sandbox/index.js";
import { meteredWasmDir, tempTree } from "../helpers.js";

/*
 * DirStat moves the main thread's working directory onto a run's directory descriptor to lstat
 * names relative to it. Required: it stats the directory the descriptor holds (never what a path
 * leads to after a swap), forgets a closed descriptor, and the working directory is back where it
 * was after every run, however the run ended.
 */

const t = tempTree("warden-dir-stat-");
const root = join(t.dir, "root");
const outside = join(t.dir, "outside");
const DIR_OPEN = constants.O_RDONLY | constants.O_DIRECTORY;
let sandbox: Sandbox;

beforeAll(() => {
  mkdirSync(join(root, "sub"), { recursive: true });
  mkdirSync(join(root, "other"));
  mkdirSync(join(root, "big"));
  mkdirSync(outside);
  writeFileSync(join(root, "sub", "a.txt"), "12345");
  writeFileSync(join(root, "other", "b.txt"), "1");
  writeFileSync(join(outside, "canary.txt"), "DIR-STAT-CANARY");
  for (let i = 0; i < 400; i++) writeFileSync(join(root, "big", `f-${i}.txt`), "x".repeat(i));
  sandbox = createSandbox({ workers: 1, wasmDir: meteredWasmDir(), inlineFuel: 200_000, inlineMaxLoopDelayMs: 0 });
});
afterAll(async () => {
  await sandbox.close();
  t.cleanup();
});

describe("DirStat", () => {
  test("stats the held directory after it is renamed and a symlink to outside takes its name", () => {
    const home = process.cwd();
    const fd = openSync(join(root, "sub"), DIR_OPEN);
    const d = new DirStat();
    try {
      expect(d.lstat(fd, "a.txt")?.size).toBe(5n);
      renameSync(join(root, "sub"), join(root, "sub-moved"));
      symlinkSync(outside, join(root, "sub"));
      expect(d.lstat(fd, "canary.txt"), "the canary outside was stat'ed").toBeUndefined();
      expect(d.lstat(fd, "a.txt")?.size).toBe(5n);
      // A fresh one moves onto the descriptor after the swap: still the held directory.
      const fresh = new DirStat();
      expect(fresh.lstat(fd, "canary.txt")).toBeUndefined();
      expect(fresh.lstat(fd, "a.txt")?.ino).toBe(lstatSync(join(root, "sub-moved", "a.txt"), { bigint: true }).ino);
      fresh.end();
    } finally {
      d.end();
      closeSync(fd);
    }
    expect(process.cwd()).toBe(home);
  });

  test("a forgotten descriptor whose number comes back as another directory stats that one", () => {
    const home = process.cwd();
    const d = new DirStat();
    const fd = openSync(join(root, "other"), DIR_OPEN);
    expect(d.lstat(fd, "b.txt")?.size).toBe(1n);
    d.forget(fd);
    closeSync(fd);
    const again = openSync(outside, DIR_OPEN);
    try {
      expect(again).toBe(fd);
      expect(d.lstat(again, "canary.txt")?.size).toBe(15n);
      expect(d.lstat(again, "b.txt")).toBeUndefined();
    } finally {
      d.end();
      closeSync(again);
    }
    expect(process.cwd()).toBe(home);
  });
});

describe("runs on the main thread", () => {
  const scope = { preopens: [{ hostPath: root, writable: false }], denyGlobs: [] };
  test("the working directory is back after a listing with sizes, a listing stopped by its fuel, and a failed run", async () => {
    const home = process.cwd();
    const sized = await sandbox.run({ module: "list", args: ["--depth=1", "--max=10000", join(root, "big")], scope, deadlineMs: 10_000, maxStdoutBytes: 1 << 22, inline: true });
    expect(sized.exitCode).toBe(0);
    expect(Buffer.from(sized.stdout).toString()).toContain("f-399.txt");
    expect(process.cwd()).toBe(home);
    const small = createSandbox({ workers: 1, wasmDir: meteredWasmDir(), inlineFuel: 2_000, inlineMaxLoopDelayMs: 0 });
    try {
      const stopped = await small.run({ module: "list", args: ["--depth=1", "--max=10000", join(root, "big")], scope, deadlineMs: 10_000, maxStdoutBytes: 1 << 22, inline: true });
      expect(stopped.exitCode).toBe(0); // run again in the pool after the fuel ran out inline
      expect(process.cwd()).toBe(home);
    } finally {
      await small.close();
    }
    const missing = await sandbox.run({ module: "list", args: ["--depth=1", join(root, "nope")], scope, deadlineMs: 10_000, maxStdoutBytes: 1 << 20, inline: true });
    expect(missing.exitCode).not.toBe(0);
    expect(process.cwd()).toBe(home);
  });
});
