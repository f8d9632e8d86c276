import { readdirSync, readFileSync, readlinkSync, statSync, symlinkSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, test } from "vitest";
import { harness, kv, type Harness } from "./helpers.js";

/* wasm-tools/edit.c through the real sandbox (PROTOCOL.md: edit). */

let h: Harness;
const p = (name: string) => join(h.root, name);
const ORIGINAL = "alpha beta\ngamma beta\nδέλτα ☃\n";

/** Frames `FLAGS OLD_LEN NEW_LEN\n` + old + new, lengths in bytes. */
function frames(...edits: [string, string, boolean?][]): Buffer {
  return Buffer.concat(
    edits.flatMap(([o, n, all]) => {
      const ob = Buffer.from(o), nb = Buffer.from(n);
      return [Buffer.from(`${all ? 1 : 0} ${ob.length} ${nb.length}\n`), ob, nb];
    }),
  );
}

function parse(stdout: Uint8Array) {
  const nl = stdout.indexOf(10);
  const header = kv(Buffer.from(stdout.subarray(0, nl)).toString());
  const body = Buffer.from(stdout.subarray(nl + 1));
  const oldSize = Number(header.old_size);
  return { header, before: body.subarray(0, oldSize).toString(), after: body.subarray(oldSize).toString() };
}

beforeAll(() => {
  h = harness();
});
beforeEach(() => {
  writeFileSync(p("f.txt"), ORIGINAL);
  utimesSync(p("f.txt"), 1_000_000, 1_000_000);
});
afterAll(() => h.close());

function untouched() {
  expect(readFileSync(p("f.txt"), "utf8")).toBe(ORIGINAL);
  expect(statSync(p("f.txt")).mtimeMs).toBe(1_000_000_000);
  expect(readdirSync(h.root).filter((n) => n.includes(".warden-"))).toEqual([]);
}

describe("edit", () => {
  test("one exact replacement: written, with old and new content on stdout", async () => {
    const r = await h.run("edit", [p("f.txt")], { stdin: frames(["alpha", "ALPHA"]) });
    expect(r.exitCode).toBe(0);
    const out = parse(r.stdout);
    expect(out.header).toEqual({ old_size: String(Buffer.byteLength(ORIGINAL)), new_size: String(Buffer.byteLength(ORIGINAL)), replacements: "1" });
    expect(out.before).toBe(ORIGINAL);
    expect(out.after).toBe(ORIGINAL.replace("alpha", "ALPHA"));
    expect(readFileSync(p("f.txt"), "utf8")).toBe(out.after);
  });

  test("edits apply in order to the evolving content", async () => {
    const r = await h.run("edit", [p("f.txt")], { stdin: frames(["alpha", "one"], ["one beta", "two"], ["δέλτα ☃\n", ""]) });
    expect(r.exitCode).toBe(0);
    expect(readFileSync(p("f.txt"), "utf8")).toBe("two\ngamma beta\n");
    expect(parse(r.stdout).header.replacements).toBe("3");
  });

  test("replace-all replaces every match and counts them", async () => {
    const r = await h.run("edit", [p("f.txt")], { stdin: frames(["beta", "B", true]) });
    expect(parse(r.stdout).header.replacements).toBe("2");
    expect(readFileSync(p("f.txt"), "utf8")).toBe("alpha B\ngamma B\nδέλτα ☃\n");
  });

  test("matching is exact: whitespace and case count", async () => {
    const r = await h.run("edit", [p("f.txt")], { stdin: frames(["Alpha", "x"]) });
    expect(r.code).toBe("NOMATCH");
    untouched();
  });

  test("NOMATCH names the edit and leaves the file untouched", async () => {
    const r = await h.run("edit", [p("f.txt")], { stdin: frames(["alpha", "A"], ["nowhere", "x"]) });
    expect(r.exitCode).toBe(1);
    expect(r.stderr.trim()).toBe("NOMATCH: edit 2: old_text not found");
    expect(r.stdout.length).toBe(0);
    untouched();
  });

  test("MULTIMATCH names the edit and the count and leaves the file untouched", async () => {
    const r = await h.run("edit", [p("f.txt")], { stdin: frames(["beta", "B"]) });
    expect(r.exitCode).toBe(1);
    expect(r.stderr.trim()).toBe("MULTIMATCH: edit 1: old_text matches 2 times");
    untouched();
  });

  test("a later failure undoes nothing because nothing was written", async () => {
    const r = await h.run("edit", [p("f.txt")], { stdin: frames(["alpha", "A"], ["gamma", "G"], ["beta", "x"]) });
    expect(r.code).toBe("MULTIMATCH");
    expect(r.stderr).toContain("edit 3");
    untouched();
  });

  test("--dry-run shows the result and writes nothing", async () => {
    const r = await h.run("edit", ["--dry-run", p("f.txt")], { stdin: frames(["gamma", "GAMMA"]) });
    expect(r.exitCode).toBe(0);
    expect(parse(r.stdout).after).toBe(ORIGINAL.replace("gamma", "GAMMA"));
    untouched();
  });

  test("--dry-run works on a read-only root; a real edit there is refused", async () => {
    const scope = { preopens: [{ hostPath: h.root, writable: false }], denyGlobs: [] };
    const dry = await h.run("edit", ["--dry-run", p("f.txt")], { stdin: frames(["gamma", "G"]), scope });
    expect(dry.exitCode).toBe(0);
    const real = await h.run("edit", [p("f.txt")], { stdin: frames(["gamma", "G"]), scope });
    expect(real.exitCode).toBe(1);
    expect(real.code).toMatch(/EROFS|EPERM|EACCES|ENOTCAPABLE/);
    untouched();
  });

  test.each([
    ["an empty old text", Buffer.from("0 0 1\nx"), "EINVAL", "edit 1: old_text is empty"],
    ["a frame longer than the input", Buffer.from("0 50 1\nalpha"), "EINVAL", "edit 1: malformed frame"],
    ["a bad flag", Buffer.from("2 5 1\nalphax"), "EINVAL", "edit 1: malformed frame"],
    ["garbage", Buffer.from("hello"), "EINVAL", "edit 1: malformed frame"],
    ["no edits", Buffer.alloc(0), "EINVAL", "no edits given"],
  ])("%s is %s", async (_n, stdin, code, message) => {
    const r = await h.run("edit", [p("f.txt")], { stdin });
    expect(r.exitCode).toBe(1);
    expect(r.code).toBe(code);
    expect(r.stderr).toContain(message);
    untouched();
  });

  test("errors: missing file, directory, unknown option", async () => {
    expect((await h.run("edit", [p("missing.txt")], { stdin: frames(["a", "b"]) })).code).toBe("ENOENT");
    expect((await h.run("edit", [h.root], { stdin: frames(["a", "b"]) })).code).toBe("EISDIR");
    const bad = await h.run("edit", ["--force", p("f.txt")], { stdin: frames(["a", "b"]) });
    expect([bad.exitCode, bad.code]).toEqual([2, "EINVAL"]);
  });

  test("editing through a symlink edits the target and keeps the link", async () => {
    symlinkSync("f.txt", p("lnk"));
    const r = await h.run("edit", [p("lnk")], { stdin: frames(["gamma", "G"]) });
    expect(r.exitCode).toBe(0);
    expect(readlinkSync(p("lnk"))).toBe("f.txt");
    expect(readFileSync(p("f.txt"), "utf8")).toBe(ORIGINAL.replace("gamma", "G"));
  });

  test("binary content, NUL bytes and CRLF are matched byte for byte", async () => {
    writeFileSync(p("b.bin"), Buffer.from([1, 0, 2, 13, 10, 0, 0, 3]));
    const r = await h.run("edit", [p("b.bin")], { stdin: Buffer.concat([Buffer.from("0 3 2\n"), Buffer.from([13, 10, 0]), Buffer.from([9, 9])]) });
    expect(r.exitCode).toBe(0);
    expect([...readFileSync(p("b.bin"))]).toEqual([1, 0, 2, 9, 9, 0, 3]);
  });

  test("a long line and a large file", async () => {
    const line = "x".repeat(1_000_000);
    writeFileSync(p("long.txt"), `${line}MARK${line}\n`);
    const r = await h.run("edit", [p("long.txt")], { stdin: frames(["MARK", "m"]) });
    expect(r.exitCode).toBe(0);
    expect(readFileSync(p("long.txt"), "utf8")).toBe(`${line}m${line}\n`);
  });
});
