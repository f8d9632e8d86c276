import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import type { Sandbox, SandboxScope } from "../../src/sandbox/types.js";
import { createSandbox } from "../../src/sandbox/index.js";
import { openFdCount, probe, probeSandbox, probeWasmDir, tempTree } from "./helpers.js";

/* The sandbox as the tool layer sees it: createSandbox, a worker pool, deadlines, queueing. */

const t = tempTree("warden-sandbox-");
const root = join(t.dir, "root");
const scope: SandboxScope = { preopens: [{ hostPath: root, writable: true }], denyGlobs: [] };
let sandbox: Sandbox;

beforeAll(() => {
  mkdirSync(root);
  writeFileSync(join(root, "a.txt"), "alpha");
  sandbox = probeSandbox(2);
});
afterAll(async () => {
  await sandbox.close();
  t.cleanup();
});

describe("createSandbox", () => {
  test("runs a module with args and stdin and returns its result", async () => {
    const r = await probe(sandbox, scope, ["read", join(root, "a.txt")]);
    expect(r).toMatchObject({ exitCode: 0, out: "ok alpha", denials: [], timedOut: false });
    expect(r.durationMs).toBeGreaterThan(0);
    expect((await probe(sandbox, scope, ["stdin"], { stdin: new TextEncoder().encode("piped") })).out).toBe("ok piped");
  });
  test("an escape through the worker is refused and named", async () => {
    const r = await probe(sandbox, scope, ["raw-open", "3", "../../etc/passwd"]);
    expect(r.out).toBe("ERR ENOTCAPABLE");
    expect(r.denials).toEqual([{ rule: "sandbox.escape", path: `${root}/../../etc/passwd`, reason: expect.any(String) }]);
  });
  test("an unknown module or a path-like module name is a refusal, not a crash", async () => {
    const missing = await sandbox.run({ module: "nope", args: [], scope, deadlineMs: 1000, maxStdoutBytes: 10 });
    expect(missing.exitCode).toBe(1);
    expect(missing.denials[0]?.rule).toBe("sandbox.module");
    const sneaky = await sandbox.run({ module: "../probe", args: [], scope, deadlineMs: 1000, maxStdoutBytes: 10 });
    expect(sneaky.denials[0]?.rule).toBe("sandbox.module");
  });
  test("calls queue when every worker is busy", async () => {
    const one = probeSandbox(1);
    try {
      const results = await Promise.all(Array.from({ length: 20 }, (_, i) => probe(one, scope, ["args", String(i)])));
      expect(results.map((r) => r.out)).toEqual(Array.from({ length: 20 }, (_, i) => `ok [${i}]`));
    } finally {
      await one.close();
    }
  });
  test("the default wasm directory is the package's wasm-tools/build", async () => {
    const dflt = createSandbox({ workers: 1 });
    const r = await dflt.run({ module: "surely-not-a-module", args: [], scope, deadlineMs: 1000, maxStdoutBytes: 10 });
    expect(r.denials[0]?.reason).toContain(join("wasm-tools", "build", "surely-not-a-module.wasm"));
    await dflt.close();
  });
});

describe("one worker, many runs: nothing carries over", () => {
  test("static, heap and stack memory a run dirtied are zero in the next run on the same worker", async () => {
    const one = probeSandbox(1);
    try {
      expect((await probe(one, scope, ["peek"])).out).toBe("ok bss=clean heap=clean stack=clean");
      for (let i = 0; i < 5; i++) {
        expect((await probe(one, scope, ["scribble"])).out).toBe("ok");
        expect((await probe(one, scope, ["peek"])).out).toBe("ok bss=clean heap=clean stack=clean");
      }
      // A run whose memory grew past what a thread keeps: dropped, the next run gets a new one.
      const initial = /pages=(\d+)/.exec((await probe(one, scope, ["peek-all"])).out)?.[1];
      expect((await probe(one, scope, ["scribble-grow"])).out).toBe("ok");
      expect((await probe(one, scope, ["peek"])).out).toBe("ok bss=clean heap=clean stack=clean");
      expect((await probe(one, scope, ["peek-all"])).out).toBe(`ok pages=${initial} heap=clean`);
      // One that grew a little is kept at its grown size, every page of it zeroed.
      expect((await probe(one, scope, ["scribble-grow-some"])).out).toBe("ok");
      const grown = (await probe(one, scope, ["peek-all"])).out;
      expect(grown).toMatch(/^ok pages=\d+ heap=clean$/);
      expect(Number(/pages=(\d+)/.exec(grown)?.[1])).toBeGreaterThan(Number(initial) + 8);
      expect((await probe(one, scope, ["peek"])).out).toBe("ok bss=clean heap=clean stack=clean");
      // A run stopped at its deadline takes its worker (and memory) with it.
      await probe(one, scope, ["scribble"]);
      expect((await probe(one, scope, ["loop"], { deadlineMs: 200 })).timedOut).toBe(true);
      expect((await probe(one, scope, ["peek"])).out).toBe("ok bss=clean heap=clean stack=clean");
    } finally {
      await one.close();
    }
  });

  test("runs and replies too large for the shared channel go through the port, intact", async () => {
    const one = probeSandbox(1);
    try {
      // stdin of 3 MiB (the channel holds 64 KiB of request) echoed back (1 MiB of reply)
      const big = new Uint8Array(3 * 1024 * 1024).map((_, i) => 97 + (i % 26));
      const r = await probe(one, scope, ["stdin"], { stdin: big, maxStdoutBytes: 4 * 1024 * 1024 });
      expect(r.exitCode).toBe(0);
      expect(r.out).toBe("ok " + new TextDecoder().decode(big));
      // then a small one through the channel again, on the same worker
      expect((await probe(one, scope, ["read", join(root, "a.txt")])).out).toBe("ok alpha");
      // non-ASCII in arguments, paths and results survives the channel's encoding
      writeFileSync(join(root, "é ✓.txt"), "ünïcödé ✓");
      expect((await probe(one, scope, ["read", join(root, "é ✓.txt")])).out).toBe("ok ünïcödé ✓");
    } finally {
      await one.close();
    }
  });
});

describe("deadlines", () => {
  test("a runaway module is stopped at its deadline while another call still succeeds", async () => {
    // Both workers up first (they start lazily).
    await Promise.all([probe(sandbox, scope, ["args"]), probe(sandbox, scope, ["args"])]);
    const started = Date.now();
    let runawayEnded = false;
    const runaway = probe(sandbox, scope, ["loop"], { deadlineMs: 5000 }).finally(() => (runawayEnded = true));
    // The other worker keeps answering while the first spins: all five reads end before the runaway does.
    await new Promise((r) => setTimeout(r, 50));
    for (let i = 0; i < 5; i++) expect((await probe(sandbox, scope, ["read", join(root, "a.txt")])).out).toBe("ok alpha");
    expect(runawayEnded).toBe(false);
    const stopped = await runaway;
    expect(stopped).toMatchObject({ timedOut: true, exitCode: 124 });
    expect(stopped.stderr).toMatch(/^ETIMEDOUT: /);
    expect(Date.now() - started).toBeGreaterThanOrEqual(4990); // not before its deadline
    // The pool respawned: both workers answer again.
    const again = await Promise.all([probe(sandbox, scope, ["args", "x"]), probe(sandbox, scope, ["args", "y"])]);
    expect(again.map((r) => r.out)).toEqual(["ok [x]", "ok [y]"]);
  });
  test("a queued call runs after the runaway ahead of it is stopped", async () => {
    const one = probeSandbox(1);
    try {
      const [a, b] = await Promise.all([probe(one, scope, ["loop"], { deadlineMs: 300 }), probe(one, scope, ["args", "after"])]);
      expect(a.timedOut).toBe(true);
      expect(b.out).toBe("ok [after]");
    } finally {
      await one.close();
    }
  });
  test("killed workers leave no host descriptors behind", async () => {
    const pool = probeSandbox(1);
    const wide: SandboxScope = { preopens: [{ hostPath: root, writable: true }, { hostPath: t.dir, writable: false }], denyGlobs: [] };
    try {
      await probe(pool, wide, ["args"]);
      const before = openFdCount();
      // Each killed run held 2 root descriptors plus 3 leaked file descriptors when it was stopped.
      for (let i = 0; i < 5; i++) expect((await probe(pool, wide, ["hold-loop", join(root, "a.txt")], { deadlineMs: 300 })).timedOut).toBe(true);
      await probe(pool, wide, ["args"]);
      expect(openFdCount()).toBe(before);
    } finally {
      await pool.close();
    }
  });
  test("close() ends running and queued calls; later calls reject", async () => {
    const pool = probeSandbox(1);
    // Compile the module first, so both calls below reach the pool before close() (no timing luck).
    await probe(pool, scope, ["args"]);
    const running = probe(pool, scope, ["loop"], { deadlineMs: 60_000 });
    const queued = probe(pool, scope, ["args"]);
    await new Promise((r) => setTimeout(r, 100));
    await pool.close();
    expect((await running).exitCode).toBe(1);
    expect((await queued).stderr).toMatch(/closed/);
    await expect(probe(pool, scope, ["args"])).rejects.toThrow(/closed/);
  });
});

describe("descriptors across many calls", () => {
  test("open descriptors of the process are stable across 2000 runs through the pool", async () => {
    const round = async () => {
      const [a, b] = await Promise.all([probe(sandbox, scope, ["cat-many", "3", join(root, "a.txt"), "leak"]), probe(sandbox, scope, ["readdir", root])]);
      expect(a.exitCode + b.exitCode).toBe(0);
    };
    // Warm up first: both workers started (a worker still booting opens its own descriptors).
    for (let i = 0; i < 50; i++) await round();
    const before = openFdCount();
    for (let i = 0; i < 1000; i++) await round();
    expect(openFdCount()).toBe(before);
  });
});

describe("compiled dist/ build", () => {
  const dist = new URL("../../dist/sandbox/index.js", import.meta.url);
  test.skipIf(!existsSync(dist))("the worker starts from dist/ (worker.js) and confines the same way", async () => {
    const mod = (await import(pathToFileURL(dist.pathname).href)) as typeof import("../../src/sandbox/index.js");
    const built = mod.createSandbox({ workers: 1, wasmDir: probeWasmDir() });
    try {
      expect((await probe(built, scope, ["read", join(root, "a.txt")])).out).toBe("ok alpha");
      expect((await probe(built, scope, ["raw-open", "3", "../x"])).denials[0]?.rule).toBe("sandbox.escape");
      expect((await probe(built, scope, ["loop"], { deadlineMs: 200 })).timedOut).toBe(true);
    } finally {
      await built.close();
    }
  });
});
