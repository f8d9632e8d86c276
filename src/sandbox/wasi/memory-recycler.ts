import { newMemory, type MemoryLimits } from "./memory-import.js";

/**
 * A memory past this size is not kept: zeroing it would cost about what a fresh one does, and a
 * spare stays resident (one per module and thread).
 */
export const MAX_KEPT_MEMORY_BYTES = 4 * 1024 * 1024;

/**
 * One spare memory per module for a thread's next run. A memory comes back after its run, is
 * zeroed at once (nothing a run wrote outlives it) and is kept unless it grew past
 * MAX_KEPT_MEMORY_BYTES. Reusing memory spares the engine a fresh reservation, and the instance made
 * on it the first touch of every page it writes: on this project's reference machine an instance on
 * a new memory costs 0.4-1.2 ms, one on a recycled memory 25-60 us (bench notes in
 * docs/benchmarks.md).
 *
 * A memory that grew during its run is kept at its grown size: the next instance starts with more
 * pages than the module's initial size, all zero apart from the data segments instantiation
 * writes. A WebAssembly import may be larger than it declares (never past its maximum, which a
 * memory keeps); the modules' allocator (wasi-libc) takes every page present at start as its heap,
 * so a search that needed 54 pages once finds them and grows no further.
 */
export class MemoryRecycler {
  private readonly spares = new Map<string, WebAssembly.Memory>();

  /** An all-zero memory of at least `limits.initial` pages for module `name`. */
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
    if (this.spares.has(name) || buffer.byteLength > Math.max(MAX_KEPT_MEMORY_BYTES, limits.initial * 65536)) return;
    new Uint8Array(buffer).fill(0);
    this.spares.set(name, memory);
  }
}
