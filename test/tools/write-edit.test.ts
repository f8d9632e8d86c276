import { chmodSync, existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startWarden, type WardenClient } from "../support/warden-client.js";
import { makeTempDir, removeDir, treeDigest, writeTree } from "../support/tree.js";
import { isWorkspaceMode, MODES, modeArgs, seen, type Mode } from "../support/modes.js";

describe.each(MODES)("%s mode", (mode: Mode) => {
  let base: string;
  let root: string;
  let ro: string;
  let w: WardenClient;
  let realDigest: string;

  beforeAll(async () => {
    base = makeTempDir("warden-write-");
    root = join(base, "rw");
    ro = join(base, "ro");
    writeTree(base, {
      "rw/existing.txt": "one\ntwo\nthree\n",
      "rw/script.sh": "#!/bin/sh\necho hi\n",
      "rw/dup.txt": "x = 1\nx = 1\n",
      "rw/link.txt": { link: "existing.txt" },
      "ro/readme.txt": "read only\n",
    });
    chmodSync(join(root, "script.sh"), 0o755);
    realDigest = treeDigest(root);
    w = await startWarden(["--root", root, "--read-only", ro, ...modeArgs(mode, base)]);
  });
  afterAll(async () => {
    await w?.close();
    removeDir(base);
  });

  /** Where a path inside the writable root is as the tools see it (the workspace's merged view in overlay mode). */
  const at = (rel: string) => seen(mode, w, rel === "" ? root : join(root, rel));
  const noTempFiles = (dir: string) => expect(readdirSync(dir).filter((f) => f.includes(".warden-"))).toEqual([]);

  describe("write_file", () => {
    it("creates and replaces atomically", async () => {
      const a = await w.call("write_file", { path: "new.txt", content: "fresh\n" });
      expect(a.structuredContent).toMatchObject({ bytes_written: 6, created: true });
      expect(readFileSync(at("new.txt"), "utf8")).toBe("fresh\n");
      const b = await w.call("write_file", { path: "new.txt", content: "replaced" });
      expect(b.structuredContent).toMatchObject({ bytes_written: 8, created: false });
      expect(readFileSync(at("new.txt"), "utf8")).toBe("replaced");
      noTempFiles(at(""));
    });
    it("appends", async () => {
      await w.call("write_file", { path: "log.txt", content: "a\n", append: true });
      await w.call("write_file", { path: "log.txt", content: "b\n", append: true });
      expect(readFileSync(at("log.txt"), "utf8")).toBe("a\nb\n");
    });
    it("creates parent directories only when asked", async () => {
      const no = await w.call("write_file", { path: "deep/er/f.txt", content: "x" });
      expect(no.isError).toBe(true);
      expect(w.text(no)).toContain("fs.not_found");
      const yes = await w.call("write_file", { path: "deep/er/f.txt", content: "x", create_dirs: true });
      expect(yes.isError, w.text(yes)).toBeFalsy();
      expect(readFileSync(at("deep/er/f.txt"), "utf8")).toBe("x");
    });
    it("keeps the mode of a replaced file and writes through an in-root symlink", async () => {
      await w.call("write_file", { path: "script.sh", content: "#!/bin/sh\necho bye\n" });
      expect(statSync(at("script.sh")).mode & 0o777).toBe(0o755);
      await w.call("write_file", { path: "link.txt", content: "via link\n" });
      expect(readFileSync(at("existing.txt"), "utf8")).toBe("via link\n");
      expect(statSync(at("link.txt"), { throwIfNoEntry: true }).isFile()).toBe(true);
    });
    it("refuses read-only roots and directories", async () => {
      const r = await w.call("write_file", { path: join(ro, "readme.txt"), content: "no" });
      expect(r.isError).toBe(true);
      expect(w.text(r)).toContain("filesystem.read_only");
      expect(readFileSync(join(ro, "readme.txt"), "utf8")).toBe("read only\n");
      expect(existsSync(join(ro, "new.txt"))).toBe(false);
      const d = await w.call("write_file", { path: "deep", content: "x" });
      expect(d.isError).toBe(true);
      noTempFiles(at(""));
    });
  });

  describe("edit_file", () => {
    it("applies exact replacements in order and returns a unified diff", async () => {
      await w.call("write_file", { path: "e.txt", content: "alpha\nbeta\ngamma\n" });
      const r = await w.call("edit_file", {
        path: "e.txt",
        edits: [
          { old_text: "beta", new_text: "BETA" },
          { old_text: "BETA\ngamma", new_text: "BETA\nGAMMA" },
        ],
      });
      expect(r.isError, w.text(r)).toBeFalsy();
      expect(readFileSync(at("e.txt"), "utf8")).toBe("alpha\nBETA\nGAMMA\n");
      const diff = (r.structuredContent as { diff: string }).diff;
      expect(diff).toContain("-beta");
      expect(diff).toContain("+BETA");
      expect(diff).toMatch(/^@@ -1,3 \+1,3 @@/m);
    });
    it("dry_run shows the diff and writes nothing", async () => {
      const r = await w.call("edit_file", { path: "existing.txt", edits: [{ old_text: "via", new_text: "VIA" }], dry_run: true });
      expect(r.isError, w.text(r)).toBeFalsy();
      expect(w.text(r)).toContain("+VIA link");
      expect(readFileSync(at("existing.txt"), "utf8")).toBe("via link\n");
    });
    it("refuses ambiguous and missing matches, leaving the file untouched", async () => {
      const dup = await w.call("edit_file", { path: "dup.txt", edits: [{ old_text: "x = 1", new_text: "x = 2" }] });
      expect(dup.isError).toBe(true);
      expect(w.text(dup)).toContain("edit.multiple_matches");
      expect(w.text(dup)).toMatch(/edit 1/);
      const miss = await w.call("edit_file", {
        path: "dup.txt",
        edits: [
          { old_text: "x = 1\nx", new_text: "y" },
          { old_text: "nowhere", new_text: "z" },
        ],
      });
      expect(miss.isError).toBe(true);
      expect(w.text(miss)).toContain("edit.no_match");
      expect(w.text(miss)).toMatch(/edit 2/);
      expect(readFileSync(at("dup.txt"), "utf8")).toBe("x = 1\nx = 1\n");
      const all = await w.call("edit_file", { path: "dup.txt", edits: [{ old_text: "x = 1", new_text: "x = 2", replace_all: true }] });
      expect(all.isError, w.text(all)).toBeFalsy();
      expect(readFileSync(at("dup.txt"), "utf8")).toBe("x = 2\nx = 2\n");
      noTempFiles(at(""));
    });
    it("refuses edits in read-only roots", async () => {
      const r = await w.call("edit_file", { path: join(ro, "readme.txt"), edits: [{ old_text: "read", new_text: "write" }] });
      expect(r.isError).toBe(true);
      expect(w.text(r)).toContain("filesystem.read_only");
    });
  });

  describe("the real tree", () => {
    it(isWorkspaceMode(mode) ? "is untouched: every write above landed in the workspace" : "took the writes above (normal mode)", () => {
      if (isWorkspaceMode(mode)) expect(treeDigest(root)).toBe(realDigest);
      else expect(treeDigest(root)).not.toBe(realDigest);
    });
  });
});
