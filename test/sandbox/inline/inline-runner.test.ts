import { execFileSync } from "node:child_process";
import { closeSync, fstatSync, mkdirSync, openSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { closeHeld, openHostRoot } from "../../../src/config/held-roots.js";
import { createSandbox } from "../../../src/sandbox/index.js";
import { InlineRunner } from "../../../src/sandbox/inline/inline-runner.js";
import { LocalRoots } from "../../../src/sandbox/inline/local-roots.js";
import { ModuleCache } from "../../../src/sandbox/module-cache.js";
import type { MemoryLimits } from "../../../src/sandbox/wasi/memory-import.js";
import { MemoryRecycler } from "../../../src/sandbox/wasi/memory-recycler.js";
import type { ModuleRunRequest, Sandbox, SandboxScope } from "../../../src/sandbox/types.js";
import { meteredWasmDir, probeWasmDir, tempTree } from "../helpers.js";

/*
 * Calls marked `inline` run on the main thread with a fuel budget and fall back to the pool. What
 * must hold: a runaway module is stopped by its fuel (a count, not a clock) and the main thread
 * keeps answering; a fallback answers exactly as the pool does; nothing inline can write; roots
 * that are not local never run inline; a FIFO cannot block the main thread; escapes stay refused.
 */

const BUDGET = 200_000;
const t = tempTree("warden-inline-");
const root = join(t.dir, "root");
const canary = join(t.dir, "canary.txt");
const scope: SandboxScope = { preopens: [{ hostPath: root, writable: true }], denyGlobs: ["**/.env"] };
let sandbox: Sandbox;
let poolOnly: Sandbox;

const call = (sb: Sandbox, module: string, args: string[], extra: Partial<ModuleRunRequest> = {}) =>
  sb.run({ module, args, scope, deadlineMs: 10_000, maxStdoutBytes: 1 << 22, inline: true, ...extra });
const text = (b: Uint8Array) => Buffer.from(b).toString("utf8");

beforeAll(() => {
  mkdirSync(join(root, "small"), { recursive: true });
  mkdirSync(join(root, "big"));
  writeFileSync(canary, "CANARY-OUTSIDE");
  writeFileSync(join(root, "a.txt"), "alpha");
  writeFileSync(join(root, ".env"), "SECRET");
  for (let i = 0; i < 5; i++) writeFileSync(join(root, "small", `f${i}.txt`), "x".repeat(i));
  for (let i = 0; i < 3000; i++) writeFileSync(join(root, "big", `file-${i}.txt`), "y".repeat(i % 50));
  symlinkSync(canary, join(root, "out-link"));
  symlinkSync("../canary.txt", join(root, "rel-link"));
  execFileSync("mkfifo", [join(root, "pipe")]);
  // The loop-delay check is off here (inlineMaxLoopDelayMs: 0): a loaded test machine must not move these runs to the pool.
  sandbox = createSandbox({ workers: 1, wasmDir: meteredWasmDir(), inlineFuel: BUDGET, inlineMaxLoopDelayMs: 0 });
  poolOnly = createSandbox({ workers: 1, wasmDir: meteredWasmDir(), inlineFuel: 0 });
});
afterAll(async () => {
  await sandbox.close();
  await poolOnly.close();
  t.cleanup();
});

describe("inline runs (main thread, fuel budget)", () => {
  test("an infinite loop is stopped by its fuel, then runs out its deadline in the pool while the main thread keeps answering", async () => {
    const order: string[] = [];
    const looping = call(sandbox, "probe", ["loop"], { deadlineMs: 1_000 }).then((r) => {
      order.push("loop");
      return r;
    });
    const reads = [];
    for (let i = 0; i < 5; i++) {
      reads.push(
        call(sandbox, "read", ["--length=100", join(root, "a.txt")]).then((r) => {
          order.push("read");
          return r;
        }),
      );
    }
    for (const r of await Promise.all(reads)) {
      expect(r).toMatchObject({ exitCode: 0, ranOn: "main" });
      expect(text(r.stdout)).toContain("alpha");
    }
    const loop = await looping;
    // Stopped by fuel at exactly its budget (the charge that went below zero), then the pool's deadline.
    expect(loop.inlineFuel).toEqual({ used: BUDGET + 1, budget: BUDGET, exhausted: true });
    expect(loop).toMatchObject({ ranOn: "pool", timedOut: true, exitCode: 124 });
    expect(order).toEqual(["read", "read", "read", "read", "read", "loop"]);
  });

  test("a listing too large for the budget falls back and answers exactly as the pool does; a small one stays inline", async () => {
    const big = await call(sandbox, "list", ["--depth=1", "--max=10000", join(root, "big")]);
    expect(big.ranOn).toBe("pool");
    expect(big.inlineFuel?.exhausted).toBe(true);
    const peer = await call(poolOnly, "list", ["--depth=1", "--max=10000", join(root, "big")]);
    expect(peer.ranOn).toBeUndefined();
    expect(text(big.stdout)).toBe(text(peer.stdout));
    expect(text(big.stdout).split("\0").length).toBe(3000 * 3 + 1);

    const small = await call(sandbox, "list", ["--depth=1", "--max=10000", join(root, "small")]);
    expect(small).toMatchObject({ exitCode: 0, ranOn: "main" });
    expect(small.inlineFuel!.used).toBeLessThan(BUDGET);
    expect(text(small.stdout)).toBe(text((await call(poolOnly, "list", ["--depth=1", "--max=10000", join(root, "small")])).stdout));
    expect(text(small.stdout)).toContain("f4.txt");
  });

  test("a reply larger than the inline cap is stopped there and answered by the pool, byte for byte", async () => {
    writeFileSync(join(root, "large.txt"), "0123456789abcdef".repeat(20_000)); // 320,000 bytes > 256 KiB
    const large = await call(sandbox, "read", ["--length=1000000", join(root, "large.txt")]);
    expect(large).toMatchObject({ exitCode: 0, ranOn: "pool" });
    expect(large.stdoutTruncated).toBeUndefined();
    expect(text(large.stdout)).toBe(text((await call(poolOnly, "read", ["--length=1000000", join(root, "large.txt")])).stdout));
  });

  test("read announces a large reply before reading it: a run whose cap is too small stops there, with nothing read or kept", async () => {
    writeFileSync(join(root, "large.txt"), "0123456789abcdef".repeat(20_000)); // 320,000 bytes
    const small = await call(poolOnly, "read", ["--length=1000000", join(root, "large.txt")], { maxStdoutBytes: 300_000 });
    expect(small).toMatchObject({ exitCode: 1, stdoutTruncated: true });
    expect(small.stdout.byteLength).toBe(0); // before: the first 300,000 bytes, read and copied for nothing
    expect(small.stderr).toMatch(/EFBIG: output exceeded 300000 bytes/);
    const whole = await call(poolOnly, "read", ["--length=1000000", join(root, "large.txt")]);
    expect(whole).toMatchObject({ exitCode: 0 });
    expect(text(whole.stdout)).toBe("size=320000 offset=0 length=320000\n" + "0123456789abcdef".repeat(20_000));
  });

  test("an inline run cannot write, even on a writable root", async () => {
    const r = await call(sandbox, "probe", ["write", join(root, "new.txt"), "data"]);
    expect(r.ranOn).toBe("main");
    expect(r.denials.map((d) => d.rule)).toContain("filesystem.read_only");
    expect(() => readFileSync(join(root, "new.txt"))).toThrow();
  });

  test("a module without fuel never runs inline", async () => {
    const plain = createSandbox({ workers: 1, wasmDir: probeWasmDir(), inlineFuel: BUDGET, inlineMaxLoopDelayMs: 0 });
    try {
      const r = await call(plain, "probe", ["read", join(root, "a.txt")]);
      expect(r).toMatchObject({ exitCode: 0, ranOn: "pool" });
      expect(r.inlineFuel).toBeUndefined();
    } finally {
      await plain.close();
    }
  });

  test("a FIFO in a root cannot block the main thread: it is refused at once", async () => {
    const r = await call(sandbox, "read", ["--length=100", join(root, "pipe")]);
    expect(r.ranOn).toBe("main");
    expect(r.exitCode).not.toBe(0);
    expect(r.denials.map((d) => d.rule)).toContain("sandbox.file_type");
  });

  test("escapes are refused inline as in the pool (canary outside the root)", async () => {
    const attempts = [
      ["read", `${root}/../canary.txt`],
      ["read", join(root, "out-link")],
      ["read", join(root, "rel-link")],
      ["read", join(root, ".env")],
      ["raw-open", "3", "../canary.txt"],
      ["raw-open", "3", "out-link"],
      ["stat", join(root, "out-link")],
    ];
    let leaks = 0;
    for (const args of attempts) {
      const r = await call(sandbox, "probe", args);
      expect(r.ranOn).toBe("main");
      if (/CANARY|SECRET/.test(text(r.stdout))) leaks++;
      expect(r.stdout.length === 0 || /^ERR /.test(text(r.stdout))).toBe(true);
    }
    expect(leaks).toBe(0);
  });
});

describe("roots that are not on a local filesystem stay in the pool", () => {
  // One sandbox whose filesystem probe answers per root (each case has a root of its own).
  const answers = new Map<string, { magic: number | null; mountinfo: string }>();
  let sb: Sandbox;
  const dirOf = (i: number) => join(t.dir, `fs-${i}`);
  beforeAll(() => {
    // Every answer is in place before the first call (mountinfo is read once a second at most).
    cases.forEach(([, magic, mounts], i) => {
      mkdirSync(dirOf(i));
      writeFileSync(join(dirOf(i), "a.txt"), "alpha");
      answers.set(dirOf(i), { magic, mountinfo: mounts(dirOf(i)) });
    });
    sb = createSandbox({
      workers: 1,
      wasmDir: meteredWasmDir(),
      inlineFuel: BUDGET,
      inlineMaxLoopDelayMs: 0,
      filesystemProbe: {
        statfsType: (path) => {
          const magic = answers.get(path)?.magic;
          if (magic === undefined || magic === null) throw new Error("EIO");
          return magic;
        },
        mountinfo: () => [...answers.values()].map((a) => a.mountinfo).join("\n"),
      },
    });
  });
  afterAll(() => sb.close());
  const cases: [string, number | null, (dir: string) => string, "main" | "pool"][] = [
    ["NFS", 0x6969, () => "", "pool"],
    ["FUSE", 0x65735546, () => "", "pool"],
    ["CIFS", 0xff534d42, () => "", "pool"],
    ["ext4 with a FUSE mount inside the root", 0xef53, (d) => `36 1 0:50 / ${d}/mnt rw - fuse.sshfs host:/ rw`, "pool"],
    ["ext4 with an NFS mount at the root", 0xef53, (d) => `36 1 0:50 / ${d} rw - nfs4 host:/ rw`, "pool"],
    ["statfs failing", null, () => "", "pool"],
    ["ext4 with a tmpfs inside and NFS elsewhere", 0xef53, (d) => `36 1 0:50 / ${d}-other rw - nfs host:/ rw\n37 1 0:51 / ${d}/tmp rw - tmpfs tmpfs rw`, "main"],
  ];
  test.each(cases.map(([name, , , where], i) => [name, where, i] as const))("%s: runs on %s", async (_name, where, i) => {
    const dir = dirOf(i);
    const r = await sb.run({ module: "read", args: ["--length=100", join(dir, "a.txt")], scope: { preopens: [{ hostPath: dir, writable: true }], denyGlobs: [] }, deadlineMs: 10_000, maxStdoutBytes: 4096, inline: true });
    expect(r).toMatchObject({ exitCode: 0, ranOn: where });
    expect(text(r.stdout)).toContain("alpha");
  });
});

describe("a copy-on-write view (serve --overlay) runs on the main thread only when the real tree under it is local", () => {
  // The view is an overlay whatever its layers lie on: its bottom layer, the root's own path in the
  // server's namespace, decides. Held as serve --overlay holds it (`via` names the namespace; here the test's own).
  const OVERLAYFS = 0x794c7630;
  const cases: [string, "main" | "pool", number][] = [
    ["over NFS", "pool", 0x6969],
    ["over FUSE", "pool", 0x65735546],
    ["over ext4", "main", 0xef53],
  ];
  test.each(cases)("%s: runs on %s", async (name, where, bottom) => {
    const dir = join(t.dir, `view-${bottom}`);
    mkdirSync(dir);
    writeFileSync(join(dir, "a.txt"), "alpha");
    const fd = openSync(dir, "r");
    const st = fstatSync(fd, { bigint: true });
    const held = { fd, dev: String(st.dev), ino: String(st.ino), via: "/proc/self/root" };
    const sb = createSandbox({
      workers: 1,
      wasmDir: meteredWasmDir(),
      inlineFuel: BUDGET,
      filesystemProbe: { statfsType: (path) => (path === `/proc/self/fd/${fd}` ? OVERLAYFS : path === dir ? bottom : 0), mountinfo: () => "" },
    });
    try {
      const r = await sb.run({ module: "read", args: ["--length=100", join(dir, "a.txt")], scope: { preopens: [{ hostPath: dir, writable: true, held }], denyGlobs: [] }, deadlineMs: 10_000, maxStdoutBytes: 4096, inline: true });
      expect(r, name).toMatchObject({ exitCode: 0, ranOn: where });
      expect(text(r.stdout)).toContain("alpha");
    } finally {
      await sb.close();
      closeSync(fd);
    }
  });
});

describe("a saturated main thread", () => {
  test("while the main thread is busy, inline calls run in the pool and answer the same bytes", async () => {
    let busy = true;
    const gated = createSandbox({ workers: 1, wasmDir: meteredWasmDir(), inlineFuel: BUDGET, mainThreadBusy: () => busy });
    try {
      const inPool = await call(gated, "read", ["--length=100", join(root, "a.txt")]);
      busy = false;
      const onMain = await call(gated, "read", ["--length=100", join(root, "a.txt")]);
      expect(inPool).toMatchObject({ exitCode: 0, ranOn: "pool" });
      expect(onMain).toMatchObject({ exitCode: 0, ranOn: "main" });
      expect(text(inPool.stdout)).toBe(text(onMain.stdout));
      expect(text(inPool.stdout)).toContain("alpha");
    } finally {
      await gated.close();
    }
  });
});

describe("memory of main-thread runs", () => {
  test("runs in one turn of the event loop share one memory: each is wiped and given back as its run returns", async () => {
    // Under load many calls run between two turns; a memory given back only on the next turn
    // would leave each of them a new one (an instance on a new memory costs ten times as much).
    class Recording extends MemoryRecycler {
      readonly taken = new Set<WebAssembly.Memory>();
      override take(name: string, limits: MemoryLimits): WebAssembly.Memory {
        const m = super.take(name, limits);
        this.taken.add(m);
        return m;
      }
    }
    const memories = new Recording();
    const runner = new InlineRunner({ budget: BigInt(BUDGET), hostCallCost: 2_000n }, new LocalRoots(), undefined, memories);
    const module = await new ModuleCache(meteredWasmDir()).get("read");
    for (let i = 0; i < 10; i++) {
      const r = runner.run(module, { name: "read", args: ["--length=100", join(root, "a.txt")], scope, maxStdoutBytes: 1 << 20 });
      expect(r !== null && !("fellBack" in r) && text(r.stdout)).toContain("alpha");
    }
    expect(memories.taken.size).toBe(1);
  });
});

describe("held roots of main-thread runs", () => {
  test("a held root is opened once for the runner's runs and closed with the sandbox (main thread and workers)", async () => {
    const held = openHostRoot(root);
    const sb = createSandbox({ workers: 1, wasmDir: meteredWasmDir(), inlineFuel: BUDGET, inlineMaxLoopDelayMs: 0 });
    const openFds = () => readdirSync("/proc/self/fd").length;
    try {
      const heldScope: SandboxScope = { preopens: [{ hostPath: root, writable: false, held }], denyGlobs: [] };
      const before = openFds();
      const read = () => sb.run({ module: "read", args: ["--length=100", join(root, "a.txt")], scope: heldScope, deadlineMs: 10_000, maxStdoutBytes: 1 << 20, inline: true });
      const first = await read();
      expect(first.ranOn).toBe("main");
      expect(text(first.stdout)).toContain("alpha");
      expect(openFds()).toBe(before + 1); // the kept descriptor on the held root
      for (let i = 0; i < 20; i++) expect(text((await read()).stdout)).toContain("alpha");
      expect(openFds()).toBe(before + 1);
      // A pool run: its worker keeps its own (closed by Node when the worker stops).
      const pooled = await sb.run({ module: "read", args: ["--length=100", join(root, "a.txt")], scope: heldScope, deadlineMs: 10_000, maxStdoutBytes: 1 << 20 });
      expect(pooled.ranOn).toBeUndefined();
      expect(text(pooled.stdout)).toContain("alpha");
      await sb.close();
      expect(openFds()).toBe(before);
    } finally {
      await sb.close();
      closeHeld(held);
    }
  });
});
