import { newMemory, type MemoryLimits } from "./memory-import.js";

/**
 * One spare memory per module for a worker's next run. A memory comes back after its run, is
 * zeroed at once (nothing a run wrote outlives it) and is kept only when it is still exactly the
 * module's initial size; one that grew is dropped. Reusing memory spares the engine a fresh
 * reservation (and its later garbage collection) per run, the largest fixed cost of a small call.
 */
export class MemoryRecycler {
  private readonly spares = new Map<string, WebAssembly.Memory>();

  /** An all-zero memory of `limits.initial` pages for module `name`. */
  take(name: string, limits: MemoryLimits): WebAssembly.Memory {
    const spare = this.spares.get(name);
    if (spare) {
      this.spares.delete(name);
      return spare;
    }
    return newMemory(limits);
  }

  /** Returns a memory after its run; it is wiped now, whatever the run did. */
  give(name: string, limits: MemoryLimits, memory: WebAssembly.Memory): void {
    const buffer = memory.buffer;
    if (buffer.byteLength !== limits.initial * 65536 || this.spares.has(name)) return;
    new Uint8Array(buffer).fill(0);
    this.spares.set(name, memory);
  }
}
