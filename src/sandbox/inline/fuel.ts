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

/**
 * Thrown from a host call when the run has no fuel left; unwinds the module like a trap. Host calls
 * are charged in the instance's own import trampolines (wasi/prepared-instance.ts, `bind`).
 */
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
