import { writeFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MODES, startInMode, type Mode } from "../support/modes.js";
import type { WardenClient } from "../support/warden-client.js";
import { makeTempDir, removeDir, writeTree } from "../support/tree.js";

type Entry = { name: string; type: string; size: number };

// Every tool reads the same in normal mode and through a copy-on-write workspace's merged view.
describe.each(MODES)("%s mode", (mode: Mode) => {
  let root: string;
  let w: WardenClient;

  beforeAll(async () => {
    root = makeTempDir("warden-list-");
    writeTree(root, {
      "a.txt": "alpha\nTODO: one\n",
      "b.md": "# title\ntodo lower\n",
      ".hidden": "h",
      ".gitignore": "ignored.txt\nbuild/\n*.log\n!keep.log\n",
      "ignored.txt": "TODO ignored\n",
      "x.log": "TODO log\n",
      "keep.log": "TODO kept\n",
      "build/out.js": "TODO built\n",
      "src/main.ts": "const x = 1; // TODO: two\nexport {}\n",
      "src/util/helper.ts": "function helper() { return 42 }\n",
      "src/util/deep/x.js": "TODO three\n",
      "node_modules/pkg/index.js": "TODO dep\n",
      "with space/file name.txt": "spaced TODO\n",
      ".git/config": "TODO git internals\n",
      "link": { link: "src" },
    });
    writeFileSync(join(root, "bin.dat"), Buffer.concat([Buffer.from("TODO"), Buffer.alloc(10), Buffer.from("TODO")]));
    w = await startInMode(mode, ["--root", root]);
  });
  afterAll(async () => {
    await w?.close();
    removeDir(root);
  });

  describe("list_directory", () => {
    it("lists direct children with types and sizes, hiding dot files by default", async () => {
      const r = await w.call("list_directory", { path: "." });
      expect(r.isError, w.text(r)).toBeFalsy();
      const entries = (r.structuredContent as { entries: Entry[] }).entries;
      const byName = Object.fromEntries(entries.map((e) => [e.name, e]));
      expect(byName["a.txt"]).toEqual({ name: "a.txt", type: "file", size: 16 });
      expect(byName["src"]?.type).toBe("directory");
      expect(byName["link"]?.type).toBe("symlink");
      expect(byName[".hidden"]).toBeUndefined();
      expect(byName["src/main.ts"]).toBeUndefined();
    });
    it("recurses to the requested depth and shows hidden files on request", async () => {
      const r = await w.call("list_directory", { path: ".", depth: 2, include_hidden: true });
      const names = (r.structuredContent as { entries: Entry[] }).entries.map((e) => e.name);
      expect(names).toContain("src/main.ts");
      expect(names).toContain(".hidden");
      expect(names).not.toContain("src/util/deep");
      expect(names).toContain("src/util");
      expect(names).not.toContain("link/main.ts");
    });
    it("errors clearly on a file or a missing directory", async () => {
      const f = await w.call("list_directory", { path: "a.txt" });
      expect(f.isError).toBe(true);
      expect(w.text(f)).toContain("fs.not_directory");
      const m = await w.call("list_directory", { path: "missing" });
      expect(w.text(m)).toContain("fs.not_found");
    });
  });

  describe("list_directory: special files show their type", () => {
    let dir: string;
    let socket: Server;
    let x: WardenClient;
    beforeAll(async () => {
      dir = makeTempDir("warden-list-special-");
      writeTree(dir, { "pipe": { fifo: true }, "plain.txt": "p" });
      socket = createServer();
      await new Promise<void>((resolve) => socket.listen(join(dir, "sock"), resolve));
      x = await startInMode(mode, ["--root", dir]);
    });
    afterAll(async () => {
      await x?.close();
      socket?.close();
      removeDir(dir);
    });

    it("a FIFO and a socket are listed as such, never as a 0-byte file", async () => {
      const r = await x.call("list_directory", { path: "." });
      expect(r.isError, x.text(r)).toBeFalsy();
      const types = Object.fromEntries((r.structuredContent as { entries: Entry[] }).entries.map((e) => [e.name, e.type]));
      expect(types).toEqual({ pipe: "fifo", sock: "socket", "plain.txt": "file" });
      expect(x.text(r)).toContain("[FIFO] pipe");
      expect(x.text(r)).toContain("[SOCKET] sock");
      expect(x.text(r)).not.toMatch(/\[FILE\] (pipe|sock)/);
    });
  });

  describe("search_files", () => {
    const files = async (args: Record<string, unknown>) => {
      const r = await w.call("search_files", { path: ".", ...args });
      expect(r.isError, w.text(r)).toBeFalsy();
      return ((r.structuredContent as { files: string[] }).files ?? []).slice().sort();
    };
    const matches = async (args: Record<string, unknown>) => {
      const r = await w.call("search_files", { path: ".", ...args });
      expect(r.isError, w.text(r)).toBeFalsy();
      return (r.structuredContent as { matches: { path: string; line: number; text: string }[] }).matches;
    };

    it("globs on relative paths", async () => {
      expect(await files({ pattern: "**/*.ts" })).toEqual(["src/main.ts", "src/util/helper.ts"]);
      expect(await files({ pattern: "*.txt" })).toEqual(["a.txt"]);
      expect(await files({ pattern: "src/**/*.{ts,js}" })).toEqual(["src/main.ts", "src/util/deep/x.js", "src/util/helper.ts"]);
      expect(await files({ pattern: "**/file name.txt" })).toEqual(["with space/file name.txt"]);
    });
    it("honours .gitignore and skips .git by default", async () => {
      const all = await files({});
      expect(all).not.toContain("ignored.txt");
      expect(all).not.toContain("x.log");
      expect(all).toContain("keep.log");
      expect(all).not.toContain("build/out.js");
      expect(all.some((f) => f.startsWith(".git/"))).toBe(false);
      const raw = await files({ gitignore: false });
      expect(raw).toContain("ignored.txt");
      expect(raw).toContain("build/out.js");
    });
    it("excludes", async () => {
      const f = await files({ pattern: "**/*.js", exclude: ["node_modules/**"] });
      expect(f).toEqual(["src/util/deep/x.js"]);
    });
    it("searches contents with line numbers, case options and regex escapes", async () => {
      const m = await matches({ content: "TODO: \\w+" });
      expect(m.map((x) => `${x.path}:${x.line}`).sort()).toEqual(["a.txt:2", "src/main.ts:1"]);
      expect(m.find((x) => x.path === "a.txt")?.text).toBe("TODO: one");
      const ci = await matches({ content: "todo", case_sensitive: false, pattern: "*.md" });
      expect(ci).toEqual([{ path: "b.md", line: 2, text: "todo lower" }]);
      const digits = await matches({ content: "return \\d+" });
      expect(digits.map((x) => x.path)).toEqual(["src/util/helper.ts"]);
    });
    it("skips binary files and limits results", async () => {
      const m = await matches({ content: "TODO", gitignore: false });
      expect(m.some((x) => x.path === "bin.dat")).toBe(false);
      const r = await w.call("search_files", { path: ".", content: "TODO", max_results: 2, gitignore: false });
      expect((r.structuredContent as { matches: unknown[]; truncated: boolean }).matches).toHaveLength(2);
      expect((r.structuredContent as { truncated: boolean }).truncated).toBe(true);
    });
    it("rejects regexes the engine cannot run, with a clear message", async () => {
      const r = await w.call("search_files", { path: ".", content: "foo(?=bar)" });
      expect(r.isError).toBe(true);
      expect(w.text(r)).toContain("input.bad_regex");
      const r2 = await w.call("search_files", { path: ".", content: "([" });
      expect(r2.isError).toBe(true);
      expect(w.text(r2)).toContain("input.bad_regex");
    });
  });
});
