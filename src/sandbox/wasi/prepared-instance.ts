import { FuelExhausted } from "../inline/fuel.js";
import { MEMORY_IMPORT, type SandboxModule } from "./memory-import.js";

/** One run's host functions, by import module (`wasi_snapshot_preview1`, `warden`). */
export type RuntimeImports = Record<string, Record<string, unknown>>;

/** Marks an instance whose imports were never bound to a run (or were bound twice). */
function unbound(): never {
  throw new Error("EIO: a sandbox instance was called outside its run");
}

/**
 * A fresh instance of a module, made before the run that will use it (the worker makes the next
 * one while it is idle, off the request's path). Its WASI imports are trampolines that reach the
 * run's imports only once `bind` is called, and it can be bound exactly once: an instance never
 * carries anything from one run to the next, it has simply not been run yet.
 *
 * `memory` is the memory the module imports: all zeros, at least the module's initial size (new,
 * or recycled and zeroed by MemoryRecycler); instantiation writes the module's data segments into
 * it, so the instance starts as one with a memory of its own would (possibly with more zero pages).
 */
export class PreparedInstance {
  readonly instance: WebAssembly.Instance;
  /** The bound run's host function per import (in declaration order); empty until bound and after release. */
  private fns: (((...args: unknown[]) => unknown) | undefined)[] = [];
  /** A fuelled run's budget (inline/fuel.ts): every host call is charged `cost` here before it runs. */
  private fuel: WebAssembly.Global | null = null;
  private cost = 0n;
  private used = false;
  private readonly slots: { module: string; name: string }[] = [];

  /** `provided`: the host functions the runtime implements, by import module; any other import fails to link. */
  constructor(
    { module, imports: declared }: SandboxModule,
    provided: ReadonlyMap<string, ReadonlySet<string>>,
    readonly memory: WebAssembly.Memory,
  ) {
    const imports: Record<string, Record<string, (...args: unknown[]) => unknown>> = {};
    for (const imp of declared) {
      if (imp.kind !== "function" || !provided.get(imp.module)?.has(imp.name)) continue;
      const k = this.slots.push({ module: imp.module, name: imp.name }) - 1;
      // Fixed arity (no rest/spread on the hot path); WASI functions take at most 9 arguments. One
      // indexed load per call (no lookup by name), and the fuel charge here rather than in a second
      // wrapper per function and run.
      (imports[imp.module] ??= {})[imp.name] = (a, b, c, d, e, f, g, h, i) => {
        const fn = this.fns[k];
        if (fn === undefined) return unbound();
        const fuel = this.fuel;
        if (fuel !== null) {
          const left = (fuel.value as bigint) - this.cost;
          fuel.value = left;
          // A host call that finds the budget spent never starts (it might block or do much work).
          if (left < 0n) throw new FuelExhausted();
        }
        return fn(a, b, c, d, e, f, g, h, i);
      };
    }
    this.instance = new WebAssembly.Instance(module, { ...imports, [MEMORY_IMPORT.module]: { [MEMORY_IMPORT.name]: memory } });
  }

  /**
   * Connects the instance to one run's host functions (by import module); a second bind is refused.
   * With `fuel`, every host call first takes `cost` from that global (the instance's own fuel
   * export) and throws FuelExhausted instead of running once it is spent.
   */
  bind(imports: RuntimeImports, fuel?: { global: WebAssembly.Global; cost: bigint }): WebAssembly.Instance {
    if (this.used) throw new Error("EIO: a sandbox instance cannot be reused");
    this.used = true;
    this.fns = this.slots.map(({ module, name }) => {
      const fn = imports[module]?.[name];
      return typeof fn === "function" ? (fn as (...args: unknown[]) => unknown) : undefined;
    });
    if (fuel) {
      this.fuel = fuel.global;
      this.cost = fuel.cost;
    }
    return this.instance;
  }

  /** Disconnects the instance after its run (it is dropped; nothing can call into the run again). */
  release(): void {
    this.fns = [];
    this.fuel = null;
  }
}
