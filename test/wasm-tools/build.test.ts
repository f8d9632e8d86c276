import { execFileSync, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, test } from "vitest";

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

  test("modules cap their memory at link time (build.sh: 64 MiB read/list, 16 MiB write/stat, 256 MiB edit/search)", () => {
    const MIB = 16; // wasm pages per MiB
    const caps: Record<string, number> = { read: 64, list: 64, write: 16, stat: 16, edit: 256, search: 256 };
    for (const name of MODULES) {
      const mod = new WebAssembly.Module(readFileSync(`${dir}build/${name}.wasm`));
      expect(WebAssembly.Module.exports(mod).some((e) => e.kind === "memory"), name).toBe(true);
      const inst = new WebAssembly.Instance(mod, stubImports(mod));
      const mem = inst.exports.memory as WebAssembly.Memory;
      const pages = mem.buffer.byteLength / 65536;
      expect(() => mem.grow(caps[name]! * MIB - pages + 1), name).toThrow(RangeError);
      expect(mem.grow(caps[name]! * MIB - pages), name).toBe(pages);
    }
  });

  test.skipIf(!hasClang)("build.sh --check rebuilds byte for byte", () => {
    const out = execFileSync("bash", [`${dir}build.sh`, "--check"], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
    expect(out).toContain("all modules match");
  });
});

function stubImports(mod: WebAssembly.Module): WebAssembly.Imports {
  const imports: Record<string, Record<string, unknown>> = {};
  for (const i of WebAssembly.Module.imports(mod)) (imports[i.module] ??= {})[i.name] = () => 0;
  return imports as WebAssembly.Imports;
}
