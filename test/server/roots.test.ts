import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startWarden } from "../support/warden-client.js";
import { makeTempDir, removeDir, writeTree } from "../support/tree.js";

let base: string;
beforeAll(() => {
  base = makeTempDir("warden-roots-");
  writeTree(base, { "a/in.txt": "a", "a/sub/s.txt": "s", "b/b.txt": "b", "c/c.txt": "c" });
});
afterAll(() => removeDir(base));

const rootsOf = (info: unknown) => (info as { roots: { path: string; access: string }[] }).roots;

describe("MCP roots (SPEC: intersection, never wider)", () => {
  it("client roots narrow the configured roots", async () => {
    const w = await startWarden(["--root", join(base, "a")], { clientRoots: [join(base, "a/sub"), join(base, "b")] });
    try {
      const info = await w.call("get_system_info");
      expect(rootsOf(info.structuredContent)).toEqual([{ path: join(base, "a/sub"), access: "read-write" }]);
      expect((await w.call("read_file", { path: join(base, "a/sub/s.txt") })).isError).toBeFalsy();
      const outside = await w.call("read_file", { path: join(base, "a/in.txt") });
      expect(outside.isError).toBe(true);
      expect((await w.call("read_file", { path: join(base, "b/b.txt") })).isError).toBe(true);
    } finally {
      await w.close();
    }
  });
  it("roots/list_changed is honoured", async () => {
    const w = await startWarden([], { clientRoots: [join(base, "b")] });
    try {
      expect((await w.call("read_file", { path: join(base, "b/b.txt") })).isError).toBeFalsy();
      expect((await w.call("read_file", { path: join(base, "c/c.txt") })).isError).toBe(true);
      await w.setRoots([join(base, "c")]);
      await new Promise((r) => setTimeout(r, 200));
      expect((await w.call("read_file", { path: join(base, "c/c.txt") })).isError).toBeFalsy();
      expect((await w.call("read_file", { path: join(base, "b/b.txt") })).isError).toBe(true);
      expect((await w.call("read_file", { path: "c.txt" })).isError).toBeFalsy();
    } finally {
      await w.close();
    }
  });
  it("without configured or client roots, the working directory is the root", async () => {
    const w = await startWarden([], { cwd: join(base, "c") });
    try {
      const info = await w.call("get_system_info");
      expect(rootsOf(info.structuredContent)).toEqual([{ path: join(base, "c"), access: "read-write" }]);
      expect((await w.call("read_file", { path: "c.txt" })).isError).toBeFalsy();
    } finally {
      await w.close();
    }
  });
  it("a client root wider than the configured one never widens it", async () => {
    const w = await startWarden(["--read-only", join(base, "a/sub")], { clientRoots: [base] });
    try {
      const info = await w.call("get_system_info");
      expect(rootsOf(info.structuredContent)).toEqual([{ path: join(base, "a/sub"), access: "read-only" }]);
    } finally {
      await w.close();
    }
  });
  it("the readonly policy makes every root read-only", async () => {
    const w = await startWarden(["--root", join(base, "b"), "--policy", join(import.meta.dirname, "../../policies/readonly.json")]);
    try {
      const r = await w.call("write_file", { path: "x.txt", content: "x" });
      expect(r.isError).toBe(true);
      expect(w.text(r)).toContain("filesystem.read_only");
    } finally {
      await w.close();
    }
  });
});
