import { DoorCache } from "../host/door-cache.js";
import { localFdTracker } from "../host/fd-tracker.js";
import { DenyRulesCache } from "../pool/deny-rules-cache.js";
import type { ModuleRunResult } from "../types.js";
import type { SandboxModule } from "../wasi/memory-import.js";
import { MemoryRecycler } from "../wasi/memory-recycler.js";
import { PreparedInstance } from "../wasi/prepared-instance.js";
import { runModule, RUNTIME_IMPORTS, type RunInput } from "../wasi/run-module.js";
import { isMetered, type FuelBudget } from "./fuel.js";
import { LocalRoots } from "./local-roots.js";

/** Default cap of a main-thread run's reply (a 256 KiB read stays inline; a 2 MB read goes to the pool). */
export const DEFAULT_INLINE_MAX_STDOUT = 256 * 1024;

/**
 * Runs small read-only calls on the main thread, where they cost no worker hop, each with a fuel
 * budget (inline/fuel.ts). Returns null whenever the call must go to the worker pool instead: the
 * module is not metered, a root is not on a local filesystem (local-roots.ts), or the budget ran
 * out (the run stopped at a charge point; the call is read-only, so running it again in the pool
 * with its real deadline is safe). Every root is given read-only here, whatever the policy says,
 * so a run on the main thread can never change anything, even when it is then run again.
 *
 * Like a pool worker it keeps one prepared instance and one zeroed spare memory per module: the
 * memory is wiped as soon as its run returns, the next instance is made after the reply has left
 * (setImmediate), off the request's path.
 */
export class InlineRunner {
  private readonly tracker = localFdTracker();
  private readonly spares = new Map<string, PreparedInstance>();
  private readonly denyRules = new DenyRulesCache();
  private readonly metered = new WeakMap<WebAssembly.Module, boolean>();
  private readonly doors = new DoorCache();

  constructor(
    private readonly fuel: FuelBudget,
    private readonly roots: LocalRoots = new LocalRoots(),
    /** Largest reply a main-thread run may produce; a larger one is stopped there and run in the pool. */
    private readonly maxStdoutBytes = DEFAULT_INLINE_MAX_STDOUT,
    private readonly memories = new MemoryRecycler(),
  ) {}

  run(module: SandboxModule, input: RunInput): (ModuleRunResult & { fuelUsed?: number }) | { fellBack: true; fuelUsed: number } | null {
    if (!this.isMetered(module.module) || !this.roots.allLocal(input.scope.preopens)) return null;
    const name = input.name;
    const cap = Math.min(input.maxStdoutBytes, this.maxStdoutBytes);
    const readOnly: RunInput = { ...input, maxStdoutBytes: cap, scope: { preopens: input.scope.preopens.map((p) => ({ ...p, writable: false })), denyGlobs: input.scope.denyGlobs } };
    let prepared = this.spares.get(name);
    this.spares.delete(name);
    prepared ??= new PreparedInstance(module, RUNTIME_IMPORTS, this.memories.take(name, module.memory));
    const result = runModule(module, readOnly, this.tracker, { prepared, denyRules: this.denyRules.get(input.scope.denyGlobs), fuel: this.fuel, doors: this.doors });
    // The run is over (its output was copied out): wipe its memory now, not later. Under load many
    // calls run in one event-loop turn, before any setImmediate; a memory given back only then
    // would leave each of them a fresh one, ten times the cost of instantiating on a recycled one.
    this.memories.give(name, module.memory, prepared.memory);
    setImmediate(() => {
      if (this.spares.has(name)) return;
      try {
        this.spares.set(name, new PreparedInstance(module, RUNTIME_IMPORTS, this.memories.take(name, module.memory)));
      } catch {
        // The next run instantiates (and reports a failure) itself.
      }
    });
    // Out of fuel, or a reply larger than a main-thread run may build (the pool moves a large reply
    // without copying it, and the main thread should not spend its time on one): run it in the pool.
    if (result.fuelExhausted || (result.stdoutTruncated && cap < input.maxStdoutBytes)) return { fellBack: true, fuelUsed: result.fuelUsed ?? 0 };
    const { fuelExhausted: _, ...rest } = result;
    return rest;
  }

  /** Closes the held roots this runner kept open (sandbox close; a later run opens them again). */
  close(): void {
    this.doors.close();
  }

  private isMetered(module: WebAssembly.Module): boolean {
    let m = this.metered.get(module);
    if (m === undefined) {
      m = isMetered(module);
      this.metered.set(module, m);
    }
    return m;
  }
}
