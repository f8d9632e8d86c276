/** Limits of the memory a module imports, in 64 KiB pages. */
export interface MemoryLimits {
  initial: number;
  maximum: number;
}

/** Where a WASI command module finds the memory the runtime gives it (`wasm-ld --import-memory`). */
export const MEMORY_IMPORT = { module: "env", name: "memory" } as const;

/**
 * Reads the limits of the memory a module imports from its bytes (the JS API cannot tell them). A
 * module must import exactly `env.memory`, with a maximum: the runtime creates that memory itself,
 * so the cap set at link time is the one the engine enforces. Throws naming what is wrong.
 */
export function memoryImportOf(bytes: Uint8Array): MemoryLimits {
  const r = new Reader(bytes);
  if (r.u32le() !== 0x6d736100 || r.u32le() !== 1) throw new Error("not a WebAssembly module (version 1)");
  let found: MemoryLimits | null = null;
  while (!r.done()) {
    const id = r.byte();
    const size = r.leb();
    const end = r.at + size;
    if (end > bytes.length) throw new Error("truncated section");
    if (id === 2) {
      for (let n = r.leb(); n > 0; n--) {
        const module = r.name();
        const name = r.name();
        const kind = r.byte();
        if (kind === 0) r.leb();
        else if (kind === 1) {
          r.byte();
          r.limits();
        } else if (kind === 3) {
          r.byte();
          r.byte();
        } else if (kind === 2) {
          const limits = r.limits();
          if (module !== MEMORY_IMPORT.module || name !== MEMORY_IMPORT.name) throw new Error(`imports memory ${module}.${name}, expected env.memory`);
          if (limits.maximum === undefined) throw new Error("its memory has no maximum (link with --max-memory)");
          if (found) throw new Error("imports more than one memory");
          found = { initial: limits.initial, maximum: limits.maximum };
        } else throw new Error(`unknown import kind ${kind}`);
      }
      if (r.at !== end) throw new Error("malformed import section");
    }
    r.at = end;
  }
  if (!found) throw new Error("does not import its memory (link with --import-memory)");
  if (found.initial > found.maximum) throw new Error("its initial memory exceeds its maximum");
  return found;
}

class Reader {
  at = 0;
  private readonly decoder = new TextDecoder("utf-8", { fatal: true });
  constructor(private readonly bytes: Uint8Array) {}

  done(): boolean {
    return this.at >= this.bytes.length;
  }

  byte(): number {
    if (this.at >= this.bytes.length) throw new Error("truncated module");
    return this.bytes[this.at++]!;
  }

  u32le(): number {
    let v = 0;
    for (let i = 0; i < 4; i++) v += this.byte() * 2 ** (8 * i);
    return v;
  }

  /** Unsigned LEB128, at most 32 bits. */
  leb(): number {
    let result = 0;
    for (let shift = 0; shift < 35; shift += 7) {
      const b = this.byte();
      result += (b & 0x7f) * 2 ** shift;
      if ((b & 0x80) === 0) {
        if (result > 0xffffffff) break;
        return result;
      }
    }
    throw new Error("malformed LEB128 number");
  }

  name(): string {
    const len = this.leb();
    if (this.at + len > this.bytes.length) throw new Error("truncated name");
    const s = this.decoder.decode(this.bytes.subarray(this.at, this.at + len));
    this.at += len;
    return s;
  }

  limits(): { initial: number; maximum?: number } {
    const flags = this.byte();
    if (flags !== 0 && flags !== 1) throw new Error(`unsupported memory limits (flags ${flags}: shared or 64-bit)`);
    const initial = this.leb();
    return flags === 1 ? { initial, maximum: this.leb() } : { initial };
  }
}

/** A compiled module with the limits of the memory it imports: what a worker needs to run it. */
export interface SandboxModule {
  module: WebAssembly.Module;
  memory: MemoryLimits;
  /** `WebAssembly.Module.imports(module)`, read once (instances are made per run). */
  imports: WebAssembly.ModuleImportDescriptor[];
}

/** Compiles module bytes and reads their memory limits; throws naming what is wrong. */
export async function compileSandboxModule(bytes: Uint8Array): Promise<SandboxModule> {
  const memory = memoryImportOf(bytes);
  const module = await WebAssembly.compile(bytes as Uint8Array<ArrayBuffer>);
  return { module, memory, imports: WebAssembly.Module.imports(module) };
}

/** A fresh memory of a module's initial size and its link-time cap. */
export function newMemory(limits: MemoryLimits): WebAssembly.Memory {
  return new WebAssembly.Memory({ initial: limits.initial, maximum: limits.maximum });
}
