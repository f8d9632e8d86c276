/**
 * Deterministic fuel for runs on the main thread. Metered modules (wasm-tools/meter.mjs) export a
 * mutable i64 global, `warden_fuel`, charged one unit at every function entry, loop header and
 * return; below zero the module traps where it stands. Host calls are charged here, into the same
 * global, before they run. So a run's work is bounded by a count, never by a clock: a module in an
 * infinite loop stops after exactly its budget, whatever the machine's load.
 */

/** The global a metered module exports (wasm-tools/meter.mjs). */
export const FUEL_EXPORT = "warden_fuel";

export interface FuelBudget {
  /** Units a run may spend (about one per loop iteration or function call). */
  budget: bigint;
  /** Units one host call costs, charged before it runs. */
  hostCallCost: bigint;
}

/** Thrown from a host call when the run has no fuel left; unwinds the module like a trap. */
export class FuelExhausted {}

/** True when `module` exports the fuel global (only those may run on the main thread). */
export function isMetered(module: WebAssembly.Module): boolean {
  return WebAssembly.Module.exports(module).some((e) => e.name === FUEL_EXPORT && e.kind === "global");
}

/** The fuel global of an instance of a metered module; throws for any other. */
export function fuelGlobal(instance: WebAssembly.Instance): WebAssembly.Global {
  const g = instance.exports[FUEL_EXPORT];
  if (!(g instanceof WebAssembly.Global)) throw new Error(`EIO: the module exports no ${FUEL_EXPORT}: it cannot run with a fuel budget`);
  return g;
}

/**
 * `imports` with every function charging `cost` from `fuel` before it runs; a call that finds the
 * budget spent throws FuelExhausted instead of running (a host call that would block or do a large
 * amount of work never starts once the budget is gone).
 */
export function chargedImports(imports: Record<string, unknown>, fuel: WebAssembly.Global, cost: bigint): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, fn] of Object.entries(imports)) {
    if (typeof fn !== "function") {
      out[name] = fn;
      continue;
    }
    const call = fn as (...args: unknown[]) => unknown;
    // Fixed arity (no rest/spread on the hot path); WASI functions take at most 9 arguments.
    out[name] = (a: unknown, b: unknown, c: unknown, d: unknown, e: unknown, f: unknown, g: unknown, h: unknown, i: unknown) => {
      const left = (fuel.value as bigint) - cost;
      fuel.value = left;
      if (left < 0n) throw new FuelExhausted();
      return call(a, b, c, d, e, f, g, h, i);
    };
  }
  return out;
}
