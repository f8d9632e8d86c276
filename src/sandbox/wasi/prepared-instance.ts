import { MEMORY_IMPORT, type SandboxModule } from "./memory-import.js";

/** The WASI import module every command module links against. */
const WASI_MODULE = "wasi_snapshot_preview1";

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
  private target: Record<string, unknown> | null = null;
  private used = false;

  /** `names`: the WASI functions the runtime implements; any other import fails to link, as before. */
  constructor(
    { module, imports: declared }: SandboxModule,
    names: ReadonlySet<string>,
    readonly memory: WebAssembly.Memory,
  ) {
    const imports: Record<string, (...args: unknown[]) => unknown> = {};
    for (const imp of declared) {
      if (imp.module !== WASI_MODULE || imp.kind !== "function" || !names.has(imp.name)) continue;
      const name = imp.name;
      // Fixed arity (no rest/spread on the hot path); WASI functions take at most 9 arguments.
      imports[name] = (a, b, c, d, e, f, g, h, i) => {
        const fn = this.target?.[name] as ((...args: unknown[]) => unknown) | undefined;
        return fn ? fn(a, b, c, d, e, f, g, h, i) : unbound();
      };
    }
    this.instance = new WebAssembly.Instance(module, { [WASI_MODULE]: imports, [MEMORY_IMPORT.module]: { [MEMORY_IMPORT.name]: memory } });
  }

  /** Connects the instance to one run's WASI imports; a second bind is refused. */
  bind(wasiImport: Record<string, unknown>): WebAssembly.Instance {
    if (this.used) throw new Error("EIO: a sandbox instance cannot be reused");
    this.used = true;
    this.target = wasiImport;
    return this.instance;
  }

  /** Disconnects the instance after its run (it is dropped; nothing can call into the run again). */
  release(): void {
    this.target = null;
  }
}
