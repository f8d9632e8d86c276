import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MODES, startInMode, type Mode } from "../support/modes.js";
import type { WardenClient } from "../support/warden-client.js";
import { makeTempDir, removeDir, writeTree } from "../support/tree.js";

type Read = { content: string; encoding: string; size: number; offset: number; length: number; truncated: boolean; next_offset: number | null };

// Every tool reads the same in normal mode and through a copy-on-write workspace's merged view.
describe.each(MODES)("%s mode", (mode: Mode) => {
  let root: string;
  let w: WardenClient;

  beforeAll(async () => {
    root = makeTempDir("warden-read-");
    const lines = Array.from({ length: 100 }, (_, i) => `line ${i + 1}`).join("\n") + "\n";
    writeTree(root, {
      "small.txt": "hello world\n",
      "lines.txt": lines,
      "empty.txt": "",
      "unicode.txt": "héllo wörld ✓ 日本語\n",
      "dir/x.txt": "x",
    });
    writeFileSync(join(root, "bin.dat"), Buffer.from([0, 1, 2, 3, 255, 254, 0, 10]));
    writeFileSync(join(root, "big.txt"), "a".repeat(3 * 1024 * 1024 + 17));
    writeFileSync(join(root, "utf8-edge.txt"), "é".repeat(700_000));
    w = await startInMode(mode, ["--root", root]);
  });
  afterAll(async () => {
    await w?.close();
    removeDir(root);
  });

  const read = async (args: Record<string, unknown>) => {
    const res = await w.call("read_file", args);
    expect(res.isError, w.text(res)).toBeFalsy();
    return res.structuredContent as Read;
  };

  describe("read_file", () => {
    it("reads a small text file, relative and absolute", async () => {
      const a = await read({ path: "small.txt" });
      expect(a).toMatchObject({ content: "hello world\n", encoding: "utf-8", size: 12, truncated: false, next_offset: null });
      const b = await read({ path: join(root, "small.txt") });
      expect(b.content).toBe("hello world\n");
    });
    it("reads an empty file", async () => {
      expect(await read({ path: "empty.txt" })).toMatchObject({ content: "", size: 0, truncated: false });
    });
    it("keeps unicode intact", async () => {
      expect((await read({ path: "unicode.txt" })).content).toBe("héllo wörld ✓ 日本語\n");
    });
    it("offset and length", async () => {
      const r = await read({ path: "small.txt", offset: 6, length: 5 });
      expect(r).toMatchObject({ content: "world", offset: 6, length: 5, truncated: true, next_offset: 11 });
      const past = await read({ path: "small.txt", offset: 1000 });
      expect(past).toMatchObject({ content: "", length: 0, truncated: false });
    });
    it("head and tail count lines", async () => {
      expect((await read({ path: "lines.txt", head: 3 })).content).toBe("line 1\nline 2\nline 3\n");
      expect((await read({ path: "lines.txt", tail: 2 })).content).toBe("line 99\nline 100\n");
    });
    it("caps a large file at 1 MiB and says where to continue", async () => {
      const first = await read({ path: "big.txt" });
      expect(first.length).toBe(1024 * 1024);
      expect(first).toMatchObject({ truncated: true, next_offset: 1024 * 1024, size: 3 * 1024 * 1024 + 17 });
      const res = await w.call("read_file", { path: "big.txt" });
      expect(w.text(res)).toContain("offset=1048576");
      let offset: number | null = first.next_offset;
      let total = first.length;
      while (offset !== null) {
        const part = await read({ path: "big.txt", offset });
        total += part.length;
        offset = part.next_offset;
      }
      expect(total).toBe(3 * 1024 * 1024 + 17);
    });
    it("never splits a UTF-8 character between parts", async () => {
      const first = await read({ path: "utf8-edge.txt" });
      expect(first.content).not.toContain("\uFFFD");
      expect(first.length % 2).toBe(0);
      const second = await read({ path: "utf8-edge.txt", offset: first.next_offset });
      expect(second.content.startsWith("é")).toBe(true);
    });
    it("returns binary files base64-encoded", async () => {
      const r = await read({ path: "bin.dat" });
      expect(r.encoding).toBe("base64");
      expect(Buffer.from(r.content, "base64")).toEqual(Buffer.from([0, 1, 2, 3, 255, 254, 0, 10]));
    });
    it("clear errors for missing files, directories and bad arguments", async () => {
      const missing = await w.call("read_file", { path: "nope.txt" });
      expect(missing.isError).toBe(true);
      expect(w.text(missing)).toContain("fs.not_found");
      const dir = await w.call("read_file", { path: "dir" });
      expect(dir.isError).toBe(true);
      expect(w.text(dir)).toContain("fs.is_directory");
      const both = await w.call("read_file", { path: "lines.txt", head: 1, tail: 1 });
      expect(both.isError).toBe(true);
      expect(w.text(both)).toContain("input.invalid");
      const bad = await w.call("read_file", { path: "small.txt", offset: -1 });
      expect(bad.isError).toBe(true);
    });
  });
});
