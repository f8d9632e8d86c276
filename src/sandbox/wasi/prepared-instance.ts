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
 * `memory` is the memory the module imports: all zeros at exactly the module's initial size (new,
 * or recycled and zeroed by MemoryRecycler); instantiation writes the module's data segments into
 * it, so the instance starts exactly as one with a memory of its own would.
 */
export class PreparedInstance {
  readonly instance: WebAssembly.Instance;
  private target: RuntimeImports | null = null;
  private used = false;

  /** `provided`: the host functions the runtime implements, by import module; any other import fails to link. */
  constructor(
    { module, imports: declared }: SandboxModule,
    provided: ReadonlyMap<string, ReadonlySet<string>>,
    readonly memory: WebAssembly.Memory,
  ) {
    const imports: Record<string, Record<string, (...args: unknown[]) => unknown>> = {};
    for (const imp of declared) {
      if (imp.kind !== "function" || !provided.get(imp.module)?.has(imp.name)) continue;
      const { module: from, name } = imp;
      // Fixed arity (no rest/spread on the hot path); WASI functions take at most 9 arguments.
      (imports[from] ??= {})[name] = (a, b, c, d, e, f, g, h, i) => {
        const fn = this.target?.[from]?.[name] as ((...args: unknown[]) => unknown) | undefined;
        return fn ? fn(a, b, c, d, e, f, g, h, i) : unbound();
      };
    }
    this.instance = new WebAssembly.Instance(module, { ...imports, [MEMORY_IMPORT.module]: { [MEMORY_IMPORT.name]: memory } });
  }

  /** Connects the instance to one run's host functions (by import module); a second bind is refused. */
  bind(imports: RuntimeImports): WebAssembly.Instance {
    if (this.used) throw new Error("EIO: a sandbox instance cannot be reused");
    this.used = true;
    this.target = imports;
    return this.instance;
  }

  /** Disconnects the instance after its run (it is dropped; nothing can call into the run again). */
  release(): void {
    this.target = null;
  }
}
