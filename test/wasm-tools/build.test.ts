import { execFileSync, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, test } from "vitest";
import { fuelGlobal, isMetered } from "../../src/sandbox/inline/fuel.js";
import { memoryImportOf, newMemory } from "../../src/sandbox/wasi/memory-import.js";

/* wasm-tools/build.sh: committed modules match the manifest, and a rebuild reproduces them. */

const dir = fileURLToPath(new URL("../../wasm-tools/", import.meta.url));
const MODULES = ["read", "write", "edit", "list", "search", "stat"];
const hasClang = spawnSync("clang", ["--version"]).status === 0;

function manifest(): Map<string, string> {
  const lines = readFileSync(`${dir}checksums.sha256`, "utf8").trim().split("\n");
  return new Map(lines.map((l) => l.split(/\s+/)).map(([hash, file]) => [file!, hash!]));
}

describe("wasm-tools build", () => {
  test("every module is in the manifest, and the committed bytes match it", () => {
    const m = manifest();
    expect([...m.keys()].sort()).toEqual(MODULES.map((n) => `build/${n}.wasm`).sort());
    for (const [file, hash] of m) {
      const got = createHash("sha256").update(readFileSync(`${dir}${file}`)).digest("hex");
      expect(got, file).toBe(hash);
    }
  });

  test("modules import a memory capped at link time (build.sh: 64 MiB read/list, 16 MiB write/stat, 256 MiB edit/search)", () => {
    const MIB = 16; // wasm pages per MiB
    const caps: Record<string, number> = { read: 64, list: 64, write: 16, stat: 16, edit: 256, search: 256 };
    for (const name of MODULES) {
      const bytes = readFileSync(`${dir}build/${name}.wasm`);
      const mod = new WebAssembly.Module(bytes);
      const limits = memoryImportOf(bytes);
      expect(limits.maximum, name).toBe(caps[name]! * MIB);
      // The engine refuses a memory allowed to grow past the module's cap ...
      const larger = new WebAssembly.Memory({ initial: limits.initial, maximum: limits.maximum + 1 });
      expect(() => new WebAssembly.Instance(mod, stubImports(mod, larger)), name).toThrow(WebAssembly.LinkError);
      // ... and the runtime's memory (newMemory) stops growing exactly there.
      const mem = newMemory(limits);
      new WebAssembly.Instance(mod, stubImports(mod, mem));
      const pages = mem.buffer.byteLength / 65536;
      expect(pages, name).toBe(limits.initial);
      expect(() => mem.grow(limits.maximum - pages + 1), name).toThrow(RangeError);
      expect(mem.grow(limits.maximum - pages), name).toBe(pages);
    }
  });

  test("read, list and stat are metered (an exported warden_fuel that starts unlimited); the others are not", () => {
    for (const name of MODULES) {
      const mod = new WebAssembly.Module(readFileSync(`${dir}build/${name}.wasm`));
      const metered = isMetered(mod);
      expect(metered, name).toBe(["read", "list", "stat"].includes(name));
      if (!metered) continue;
      const inst = new WebAssembly.Instance(mod, stubImports(mod, newMemory(memoryImportOf(readFileSync(`${dir}build/${name}.wasm`)))));
      expect(fuelGlobal(inst).value, name).toBe(2n ** 63n - 1n);
    }
  });

  test.skipIf(!hasClang)("build.sh --check rebuilds byte for byte", () => {
    const out = execFileSync("bash", [`${dir}build.sh`, "--check"], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
    expect(out).toContain("all modules match");
  });
});

function stubImports(mod: WebAssembly.Module, memory: WebAssembly.Memory): WebAssembly.Imports {
  const imports: Record<string, Record<string, unknown>> = {};
  for (const i of WebAssembly.Module.imports(mod)) (imports[i.module] ??= {})[i.name] = i.kind === "memory" ? memory : () => 0;
  return imports as WebAssembly.Imports;
}
