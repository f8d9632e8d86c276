import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, test } from "vitest";
import { memoryImportOf } from "../../../src/sandbox/wasi/memory-import.js";

/* The limits of a module's imported memory, read from its bytes; anything else is refused by name. */

const leb = (n: number): number[] => {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
  return out;
};
const str = (s: string) => [...leb(Buffer.byteLength(s)), ...Buffer.from(s)];
const section = (id: number, body: number[]) => [id, ...leb(body.length), ...body];
const HEADER = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
const memImport = (mod: string, name: string, limits: number[]) => [...str(mod), ...str(name), 0x02, ...limits];
const moduleWith = (...imports: number[][]) =>
  new Uint8Array([...HEADER, ...section(2, [...leb(imports.length), ...imports.flat()])]);

describe("memoryImportOf", () => {
  test("reads initial and maximum pages (multi-byte LEB128 too)", () => {
    expect(memoryImportOf(moduleWith(memImport("env", "memory", [0x01, ...leb(22), ...leb(4096)])))).toEqual({ initial: 22, maximum: 4096 });
    expect(memoryImportOf(moduleWith(memImport("env", "memory", [0x01, ...leb(1), ...leb(65536)])))).toEqual({ initial: 1, maximum: 65536 });
  });

  test("skips function, table and global imports and other sections", () => {
    const fn = [...str("wasi_snapshot_preview1"), ...str("fd_write"), 0x00, ...leb(3)];
    const table = [...str("env"), ...str("t"), 0x01, 0x70, 0x00, ...leb(1)];
    const global = [...str("env"), ...str("g"), 0x03, 0x7f, 0x00];
    const bytes = new Uint8Array([
      ...HEADER,
      ...section(1, [0x01, 0x60, 0x00, 0x00]),
      ...section(2, [...leb(4), ...fn, ...table, ...global, ...memImport("env", "memory", [0x01, 2, 16])]),
      ...section(0, [...str("name"), 1, 2, 3]),
    ]);
    expect(memoryImportOf(bytes)).toEqual({ initial: 2, maximum: 16 });
  });

  test("every shipped module imports env.memory with a cap", () => {
    for (const name of ["read", "write", "edit", "list", "search", "stat"]) {
      const bytes = readFileSync(fileURLToPath(new URL(`../../../wasm-tools/build/${name}.wasm`, import.meta.url)));
      const limits = memoryImportOf(bytes);
      expect(limits.maximum, name).toBeGreaterThanOrEqual(limits.initial);
    }
  });

  test.each([
    ["not wasm", new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]), "not a WebAssembly module"],
    ["no memory import", moduleWith(), "does not import its memory"],
    ["no maximum", moduleWith(memImport("env", "memory", [0x00, 1])), "no maximum"],
    ["another name", moduleWith(memImport("env", "mem", [0x01, 1, 2])), "expected env.memory"],
    ["shared memory", moduleWith(memImport("env", "memory", [0x03, 1, 2])), "shared or 64-bit"],
    ["two memories", moduleWith(memImport("env", "memory", [0x01, 1, 2]), memImport("env", "memory", [0x01, 1, 2])), "more than one memory"],
    ["initial above maximum", moduleWith(memImport("env", "memory", [0x01, 5, 2])), "exceeds its maximum"],
    ["truncated section", new Uint8Array([...HEADER, 2, 50, 1]), "truncated section"],
    ["truncated import", new Uint8Array([...HEADER, ...section(2, [1, 3, 0x65])]), "truncated"],
    ["overlong LEB128", new Uint8Array([...HEADER, 2, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]), "LEB128"],
  ])("refuses %s", (_label, bytes, message) => {
    expect(() => memoryImportOf(bytes)).toThrow(message);
  });
});
