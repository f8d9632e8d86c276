import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { WorkerPool } from "../../../src/sandbox/pool/worker-pool.js";
import { compileSandboxModule, type SandboxModule } from "../../../src/sandbox/wasi/memory-import.js";
import type { RunInput } from "../../../src/sandbox/wasi/run-module.js";
import { probeWasmDir, tempTree } from "../helpers.js";

/*
 * The pool hands a worker its next run as soon as the worker has answered, even while the event
 * loop is busy elsewhere (WorkerPool.collect): under load a port message is reached once per turn
 * of the loop, tens of milliseconds, and the workers would sit idle that long between runs.
 */

const t = tempTree("warden-pool-");
let module: SandboxModule;
let pool: WorkerPool;
const input = (args: string[]): RunInput => ({ name: "probe", args, scope: { preopens: [{ hostPath: t.dir, writable: false }], denyGlobs: [] }, maxStdoutBytes: 1 << 20 });
const out = (r: { stdout: Uint8Array }) => Buffer.from(r.stdout).toString("utf8").trimEnd();
/** Blocks this thread (no event-loop turn) for `ms`. */
const block = (ms: number) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

beforeAll(async () => {
  module = await compileSandboxModule(readFileSync(join(probeWasmDir(), "probe.wasm")));
  pool = new WorkerPool(1);
  // The worker is up and holds the module (both need turns of the event loop).
  expect(out(await pool.run(input(["args", "warm"]), module, 10_000))).toBe("ok [warm]");
});
afterAll(async () => {
  await pool.close();
  t.cleanup();
});

describe("replies taken without a turn of the event loop", () => {
  test("a finished run is answered, and the next one started, while the main thread never yields to the loop", async () => {
    const answered: string[] = [];
    const first = pool.run(input(["args", "1"]), module, 10_000).then((r) => answered.push(out(r)));
    const second = pool.run(input(["args", "2"]), module, 10_000).then((r) => answered.push(out(r)));
    // Only microtasks from here on: the port messages announcing the replies cannot be delivered.
    const until = Date.now() + 10_000;
    while (answered.length < 2 && Date.now() < until) {
      block(5);
      pool.collect();
      for (let i = 0; i < 5; i++) await Promise.resolve();
    }
    // The second run reached the one worker only because the first reply was collected.
    expect(answered).toEqual(["ok [1]", "ok [2]"]);
    await Promise.all([first, second]);
  });

  test("a reply too large for the shared channel is taken from the port the same way", async () => {
    const big = "x".repeat(2 * 1024 * 1024);
    let got: string | null = null;
    const run = pool.run({ ...input(["stdin"]), stdin: new TextEncoder().encode(big), maxStdoutBytes: 4 << 20 }, module, 10_000).then((r) => (got = out(r)));
    const until = Date.now() + 10_000;
    while (got === null && Date.now() < until) {
      block(5);
      pool.collect();
      for (let i = 0; i < 5; i++) await Promise.resolve();
    }
    expect(got).toBe("ok " + big);
    await run;
    // Then the channel again, through the usual port message.
    expect(out(await pool.run(input(["args", "after"]), module, 10_000))).toBe("ok [after]");
  });
});
