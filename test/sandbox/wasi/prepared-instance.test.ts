import binaryen from "binaryen";
import { describe, expect, test } from "vitest";
import { FuelExhausted } from "../../../src/sandbox/inline/fuel.js";
import { newMemory, type SandboxModule } from "../../../src/sandbox/wasi/memory-import.js";
import { PreparedInstance } from "../../../src/sandbox/wasi/prepared-instance.js";

/*
 * A fuelled run's host calls are charged in the instance's own import trampolines: a call that
 * finds the budget spent must never reach the host (it might block the main thread or do much
 * work). The module here has no charge points of its own, so only the trampoline can stop it.
 */
const WAT = `(module
  (import "wasi_snapshot_preview1" "sched_yield" (func $yield (result i32)))
  (import "env" "memory" (memory 1 1))
  (global $fuel (export "warden_fuel") (mut i64) (i64.const 0))
  (func (export "_start") (local $i i32)
    (loop $again
      (drop (call $yield))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $again (i32.lt_u (local.get $i) (i32.const 10))))))`;

function sandboxModule(): SandboxModule {
  const parsed = binaryen.parseText(WAT);
  const bytes = parsed.emitBinary();
  parsed.dispose();
  const module = new WebAssembly.Module(new Uint8Array(bytes));
  return { module, memory: { initial: 1, maximum: 1 }, imports: WebAssembly.Module.imports(module) };
}

const provided = new Map([["wasi_snapshot_preview1", new Set(["sched_yield"])]]);

describe("PreparedInstance", () => {
  test("a fuelled host call that finds the budget spent throws instead of running", () => {
    const mod = sandboxModule();
    const prepared = new PreparedInstance(mod, provided, newMemory(mod.memory));
    const fuel = prepared.instance.exports.warden_fuel as WebAssembly.Global;
    fuel.value = 10n;
    let calls = 0;
    const instance = prepared.bind({ wasi_snapshot_preview1: { sched_yield: () => (calls++, 0) } }, { global: fuel, cost: 3n });
    expect(() => (instance.exports._start as () => void)()).toThrow(FuelExhausted);
    // 10 -> 7 -> 4 -> 1 ran; the fourth call found -2 and never reached the host.
    expect(calls).toBe(3);
    expect(fuel.value).toBe(-2n);
  });

  test("without fuel every call runs; an instance binds once and is cut off after its run", () => {
    const mod = sandboxModule();
    const prepared = new PreparedInstance(mod, provided, newMemory(mod.memory));
    let calls = 0;
    const instance = prepared.bind({ wasi_snapshot_preview1: { sched_yield: () => (calls++, 0) } });
    (instance.exports._start as () => void)();
    expect(calls).toBe(10);
    expect(() => prepared.bind({})).toThrow(/cannot be reused/);
    prepared.release();
    expect(() => (instance.exports._start as () => void)()).toThrow(/outside its run/);
    expect(calls).toBe(10);
  });
});
