import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MODES, modeArgs, seen, type Mode } from "../support/modes.js";
import { startWarden, type WardenClient } from "../support/warden-client.js";
import { canary, makeTempDir, removeDir, writeTree } from "../support/tree.js";

/**
 * Escape attempts through the real server over stdio, as an agent would send them. Every attempt
 * must come back as an isError result that never carries the outside content, and no write may
 * land outside the roots. Covers the official filesystem server's advisories (prefix siblings,
 * symlink escapes) and more. Run in both modes (test/support/modes.ts): in overlay mode the root is a
 * copy-on-write workspace's merged view, whose absolute symlinks must never resolve against the host.
 */
// Made at collection time: the case tables below are built from these paths.
const base = makeTempDir("warden-escape-");
const root = join(base, "allow");
const secret = canary("SECRET");
let w: WardenClient;

beforeAll(() => {
  writeTree(base, {
    "allow/file.txt": "inside file\n",
    "allow/sub/inner.txt": "inner\n",
    "allow/.env": `API_KEY=${secret}\n`,
    "allow/keys/id_rsa": `${secret}\n`,
    "allow/link_in": { link: "file.txt" },
    "allow/link_abs_in": { link: join(base, "allow/sub") },
    "allow/link_out_file": { link: "../secret/secret.txt" },
    "allow/link_out_abs": { link: join(base, "secret/secret.txt") },
    "allow/link_out_dir": { link: "../secret" },
    "allow/link_out_dir_abs": { link: join(base, "secret") },
    "allow/sub/deep_out": { link: "../../secret" },
    "allow/chain1": { link: "chain2" },
    "allow/chain2": { link: "sub/chain3" },
    "allow/sub/chain3": { link: "../../secret/secret.txt" },
    "allow/loop1": { link: "loop2" },
    "allow/loop2": { link: "loop1" },
    "allow/dangling_out": { link: "../secret/created-by-escape.txt" },
    "allow/dangling_out_abs": { link: join(base, "secret/created-by-escape-abs.txt") },
    "allow/link_root": { link: "/" },
    "allow/link_proc": { link: "/proc/self/root" },
    "allow/link_etc": { link: "/etc" },
    "allow/fifo": { fifo: true },
    "allow_x/secret.txt": secret,
    'allow"/secret.txt': secret,
    "allow /secret.txt": secret,
    "secret/secret.txt": secret,
    "secret/sub/secret.txt": secret,
  });
});

afterAll(() => {
  removeDir(base);
});

describe.each(MODES)("%s mode", (mode: Mode) => {
  beforeAll(async () => {
    w = await startWarden(["--root", root, "--policy", join(import.meta.dirname, "..", "..", "policies", "default.json"), ...modeArgs(mode, join(base, "ws"))], { cwd: base });
  });

  afterAll(async () => {
    await w?.close();
  });

  function outsideFiles(): string[] {
    return readdirSync(join(base, "secret"), { recursive: true }).map(String).sort();
  }

  const ESCAPE_READS = (): string[] => [
    // .. in every position
    "../secret/secret.txt",
    "./../secret/secret.txt",
    "sub/../../secret/secret.txt",
    "sub/./../../secret/secret.txt",
    "sub/inner.txt/../../../secret/secret.txt",
    `${root}/../secret/secret.txt`,
    `${root}/sub/../../secret/secret.txt`,
    `${root}/./../secret/secret.txt`,
    `${root}//../secret/secret.txt`,
    `${root}/sub/../../../${base.slice(1)}/secret/secret.txt`,
    `${root}/..`.concat("/secret/secret.txt"),
    "..",
    "../",
    // prefix, quote and space siblings
    `${base}/allow_x/secret.txt`,
    `${base}/allow"/secret.txt`,
    `${base}/allow /secret.txt`,
    `${root}_x/secret.txt`,
    // absolute paths outside
    `${base}/secret/secret.txt`,
    "/etc/passwd",
    "/etc/shadow",
    "/proc/self/root/etc/passwd",
    `/proc/self/root${base}/secret/secret.txt`,
    `/proc/self/cwd/secret/secret.txt`,
    "/proc/self/environ",
    "/dev/zero",
    // URIs and NUL
    `file://${base}/secret/secret.txt`,
    `file://${root}/../secret/secret.txt`,
    "file.txt\0../../secret/secret.txt",
    `${root}/file.txt\0/../../secret/secret.txt`,
    // symlinks leaving the root
    "link_out_file",
    "link_out_abs",
    "link_out_dir/secret.txt",
    "link_out_dir_abs/secret.txt",
    "link_out_dir/sub/secret.txt",
    "sub/deep_out/secret.txt",
    "chain1",
    "loop1",
    "link_root/etc/passwd",
    `link_root${base}/secret/secret.txt`,
    "link_proc/etc/passwd",
    "link_etc/passwd",
    // hidden by deny globs
    ".env",
    "keys/id_rsa",
    "sub/../.env",
    "link_in/../.env",
    // special files
    "fifo",
  ];

  describe("read escapes", () => {
    it.each(ESCAPE_READS().map((p) => [JSON.stringify(p), p]))("read_file %s is refused without leaking", async (_label, p) => {
      const res = await w.call("read_file", { path: p });
      expect(res.isError, w.text(res)).toBe(true);
      expect(w.text(res)).not.toContain(secret);
      expect(w.text(res)).toMatch(/\[rule: [a-z_.:*/]+/);
    });

    it.each(["../secret", "link_out_dir", "link_out_dir_abs", "sub/deep_out", "link_root", "link_proc", `${base}/allow_x`, "/", "/tmp"].map((p) => [p]))(
      "list_directory %s is refused",
      async (p) => {
        const res = await w.call("list_directory", { path: p });
        expect(res.isError, w.text(res)).toBe(true);
        expect(w.text(res)).not.toContain("secret.txt");
      },
    );

    it.each(["../secret", "link_out_dir", "link_out_dir_abs", `${base}`, "/"].map((p) => [p]))("search_files %s is refused", async (p) => {
      const res = await w.call("search_files", { path: p, content: "SECRET" });
      expect(res.isError, w.text(res)).toBe(true);
      expect(w.text(res)).not.toContain(secret);
    });

    it("search and list inside the root never follow links out or show hidden files", async () => {
      const list = await w.call("list_directory", { path: ".", depth: 5, include_hidden: true });
      expect(list.isError).toBeFalsy();
      const names = (list.structuredContent as { entries: { name: string }[] }).entries.map((e) => e.name);
      expect(names).toContain("link_out_dir");
      expect(names).not.toContain("link_out_dir/secret.txt");
      expect(names).not.toContain(".env");
      expect(names).not.toContain("keys/id_rsa");
      const search = await w.call("search_files", { path: ".", content: "SECRET|API_KEY", gitignore: false });
      expect(search.isError, w.text(search)).toBeFalsy();
      expect(w.text(search)).not.toContain(secret);
      const names2 = await w.call("search_files", { path: ".", pattern: "**/*secret*" });
      expect(w.text(names2)).not.toContain("secret.txt");
    });

    it("in-root symlinks still work, in the view the tools work on", async () => {
      // An absolute in-root link followed in the real tree would show this file's real content in overlay mode.
      const edited = await w.call("write_file", { path: "sub/inner.txt", content: `inner, seen as ${mode}\n` });
      expect(edited.isError, w.text(edited)).toBeFalsy();
      expect(readFileSync(seen(mode, w, join(root, "sub/inner.txt")), "utf8")).toBe(`inner, seen as ${mode}\n`);
      const a = await w.call("read_file", { path: "link_in" });
      expect(a.isError, w.text(a)).toBeFalsy();
      expect(w.text(a)).toContain("inside file");
      const b = await w.call("read_file", { path: "link_abs_in/inner.txt" });
      expect(b.isError, w.text(b)).toBeFalsy();
      expect(w.text(b)).toContain(`inner, seen as ${mode}`);
      const c = await w.call("read_file", { path: `file://${root}/file.txt` });
      expect(c.isError, w.text(c)).toBeFalsy();
    });

    it("denials name their rule", async () => {
      expect(w.text(await w.call("read_file", { path: ".env" }))).toContain("filesystem.deny");
      expect(w.text(await w.call("read_file", { path: "/etc/passwd" }))).toContain("roots.outside");
      expect(w.text(await w.call("read_file", { path: "link_out_file" }))).toMatch(/sandbox\.escape|roots\.outside/);
      expect(w.text(await w.call("read_file", { path: "loop1" }))).toMatch(/symlink_loop|ELOOP|loop/i);
      expect(w.text(await w.call("read_file", { path: "fifo" }))).toContain("sandbox.file_type");
    });
  });

  const ESCAPE_WRITES = (): string[] => [
    "../secret/created.txt",
    "sub/../../secret/created.txt",
    `${base}/secret/created.txt`,
    `${root}/../secret/created.txt`,
    `${base}/allow_x/created.txt`,
    `${base}/allow"/created.txt`,
    "link_out_dir/created.txt",
    "link_out_dir_abs/created.txt",
    "sub/deep_out/created.txt",
    "link_out_file",
    "link_out_abs",
    "chain1",
    "dangling_out",
    "dangling_out_abs",
    "link_root/tmp/created-by-escape.txt",
    `file://${base}/secret/created.txt`,
    "created.txt\0../../secret/created.txt",
    ".env",
    "keys/id_rsa",
    "fifo",
  ];

  describe("write escapes", () => {
    it.each(ESCAPE_WRITES().map((p) => [JSON.stringify(p), p]))("write_file %s is refused and writes nothing outside", async (_l, p) => {
      const before = outsideFiles();
      const res = await w.call("write_file", { path: p, content: "pwned", create_dirs: true });
      expect(res.isError, w.text(res)).toBe(true);
      expect(outsideFiles()).toEqual(before);
      expect(readFileSync(join(base, "secret/secret.txt"), "utf8")).toBe(secret);
      expect(existsSync("/tmp/created-by-escape.txt")).toBe(false);
    });

    it.each(["link_out_file", "link_out_abs", "chain1", "../secret/secret.txt", "link_out_dir/secret.txt"].map((p) => [p]))(
      "edit_file %s is refused",
      async (p) => {
        const res = await w.call("edit_file", { path: p, edits: [{ old_text: "SECRET", new_text: "x" }] });
        expect(res.isError, w.text(res)).toBe(true);
        expect(w.text(res)).not.toContain(secret);
        expect(readFileSync(join(base, "secret/secret.txt"), "utf8")).toBe(secret);
      },
    );

    it("append through an outside symlink is refused", async () => {
      const res = await w.call("write_file", { path: "link_out_file", content: "x", append: true });
      expect(res.isError).toBe(true);
      expect(readFileSync(join(base, "secret/secret.txt"), "utf8")).toBe(secret);
    });
  });
});
