import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { compileSandboxModule, type SandboxModule } from "./wasi/memory-import.js";

/** Module names are plain words: never a path. */
const MODULE_NAME = /^[a-z][a-z0-9_-]{0,63}$/;

/**
 * Compiled modules by name, each compiled once from `<dir>/<name>.wasm` (with the limits of the
 * memory it imports) and then handed to the workers (a WebAssembly.Module crosses postMessage
 * without recompiling). Held by one sandbox.
 */
export class ModuleCache {
  private readonly compiled = new Map<string, Promise<SandboxModule>>();

  constructor(readonly dir: string) {}

  get(name: string): Promise<SandboxModule> {
    if (!MODULE_NAME.test(name)) return Promise.reject(new Error(`EINVAL: not a module name: ${JSON.stringify(name)}`));
    let module = this.compiled.get(name);
    if (!module) {
      module = readFile(join(this.dir, `${name}.wasm`)).then((bytes) => compileSandboxModule(bytes));
      // A failed load is not cached: the file may appear later (e.g. after build:wasm).
      module.catch(() => this.compiled.delete(name));
      this.compiled.set(name, module);
    }
    return module;
  }
}
