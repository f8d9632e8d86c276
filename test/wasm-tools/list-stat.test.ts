import { mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { harness, kv, records, type Harness } from "./helpers.js";

/* wasm-tools/list.c and stat.c through the real sandbox (PROTOCOL.md: list, stat). */

let h: Harness;
const p = (...names: string[]) => join(h.root, ...names);

beforeAll(() => {
  h = harness();
  mkdirSync(p("src", "deep", "deeper"), { recursive: true });
  writeFileSync(p("a.txt"), "12345");
  writeFileSync(p(".hidden"), "h");
  writeFileSync(p("src", "b.ts"), "bb");
  writeFileSync(p("src", "deep", "c.ts"), "c");
  writeFileSync(p("src", "deep", "deeper", "d.ts"), "");
  writeFileSync(p("with space ☃"), "");
  writeFileSync(p("new\nline"), "");
  symlinkSync("a.txt", p("link"));
  symlinkSync("/etc/passwd", p("outside-link"));
});
afterAll(() => h.close());

const list = async (...args: string[]) => {
  const r = await h.run("list", [...args.slice(0, -1), p(args.at(-1)!)]);
  return { ...r, rows: records(r.out, 3).map(([t, s, n]) => `${t} ${s} ${n}`), stats: kv(r.stderr) };
};

describe("list", () => {
  test("direct children, sorted, hidden left out, symlinks reported not followed", async () => {
    const r = await list("");
    expect(r.exitCode).toBe(0);
    expect(r.rows).toEqual(["f 5 a.txt", "l 5 link", "f 0 new\nline", "l 11 outside-link", "d 0 src", "f 0 with space ☃"]);
    expect(r.stats).toEqual({ entries: "6", truncated: "0" });
  });
  test("--hidden", async () => {
    expect((await list("--hidden", "")).rows[0]).toBe("f 1 .hidden");
  });
  test("--depth recurses with relative paths", async () => {
    expect((await list("--depth=2", "src")).rows).toEqual(["f 2 b.ts", "d 0 deep", "f 1 deep/c.ts", "d 0 deep/deeper"]);
    expect((await list("--depth=9", "src")).rows).toContain("f 0 deep/deeper/d.ts");
  });
  test("--max truncates and says so", async () => {
    const r = await list("--max=2", "--depth=5", "");
    expect(r.rows.length).toBe(2);
    expect(r.stats).toEqual({ entries: "2", truncated: "1" });
  });
  test.each([
    ["a file", ["a.txt"], 1, "ENOTDIR"],
    ["a missing dir", ["nope"], 1, "ENOENT"],
    ["depth 0", ["--depth=0", ""], 2, "EINVAL"],
    ["an unknown option", ["--all", ""], 2, "EINVAL"],
  ])("%s fails", async (_n, args, exit, code) => {
    const r = await list(...args);
    expect([r.exitCode, r.code]).toEqual([exit, code]);
  });
});

describe("stat", () => {
  const stat = async (path: string) => {
    const r = await h.run("stat", [path]);
    const line = r.out.replace(/\n$/, "");
    return { ...r, fields: kv(line), realpath: line.includes("realpath=") ? line.slice(line.indexOf("realpath=") + 9) : "" };
  };
  test("a file and a directory", async () => {
    const f = await stat(p("a.txt"));
    expect(f.fields).toMatchObject({ type: "f", size: "5" });
    expect(Number(f.fields.mtime_ms)).toBeGreaterThan(1_600_000_000_000);
    expect(f.realpath).toBe(p("a.txt"));
    expect((await stat(p("src"))).fields.type).toBe("d");
    expect((await stat(h.root)).realpath).toBe(h.root);
  });
  test("symlinks, `.`, `..` and repeated slashes are resolved", async () => {
    expect((await stat(p("link"))).realpath).toBe(p("a.txt"));
    expect((await stat(`${h.root}/src/./deep/../deep//deeper/`)).realpath).toBe(p("src", "deep", "deeper"));
    symlinkSync("src/deep", p("dlink"));
    expect((await stat(`${h.root}/dlink/../b.ts`)).realpath).toBe(p("src", "b.ts"));
  });
  test("a name with spaces and a newline comes back whole (realpath is the rest of the line)", async () => {
    expect((await stat(p("with space ☃"))).realpath).toBe(p("with space ☃"));
    expect((await stat(p("new\nline"))).realpath).toBe(p("new\nline"));
  });
  test.each([
    ["missing", () => p("missing"), "ENOENT"],
    ["dangling symlink", () => (symlinkSync("missing", p("dangle")), p("dangle")), "ENOENT"],
    ["symlink loop", () => (symlinkSync("loop2", p("loop1")), symlinkSync("loop1", p("loop2")), p("loop1")), "ELOOP"],
    ["relative path", () => "a.txt", "EINVAL"],
  ])("%s is %s", async (_n, path, code) => {
    const r = await stat(path());
    expect([r.exitCode, r.code]).toEqual([1, code]);
  });
  test("outside the roots fails, whether by `..` or by a symlink", async () => {
    for (const path of [`${h.root}/..`, p("outside-link"), "/etc"]) {
      const r = await stat(path);
      expect(r.exitCode).toBe(1);
      expect(r.stdout.length).toBe(0);
    }
  });
});

describe("arguments", () => {
  // Guards the runtime's args_sizes_get/args_get pair: a size counted in UTF-16 units instead of
  // UTF-8 bytes overflows the module's argv buffer whenever an argument is not ASCII.
  test("non-ASCII arguments reach the module byte for byte", async () => {
    const name = "ünïcödé ☃☃☃☃☃☃☃☃ ßßßß 日本語のファイル名";
    writeFileSync(p(name), "x");
    for (let i = 0; i < 3; i++) {
      const r = await h.run("stat", [p(name)]);
      expect(r.exitCode, r.stderr).toBe(0);
      expect(r.out).toBe(`type=f size=1 mtime_ms=${kv(r.out).mtime_ms} realpath=${p(name)}\n`);
    }
  });
});
