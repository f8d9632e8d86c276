import { mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { harness, kv, type Harness } from "./helpers.js";

/* wasm-tools/read.c through the real sandbox (PROTOCOL.md: read). */

let h: Harness;
const p = (name: string) => join(h.root, name);

beforeAll(() => {
  h = harness();
  writeFileSync(p("lines.txt"), "one\ntwo\nthree\nfour\n");
  writeFileSync(p("nonl.txt"), "a\nb\nc");
  writeFileSync(p("empty.txt"), "");
  writeFileSync(p("big.bin"), Buffer.alloc(300_000, 0x61));
  writeFileSync(p("uni ☃.txt"), "héllo ☃ wörld\n");
  writeFileSync(p("new\nline.txt"), "nl\n");
  writeFileSync(p("long.txt"), "x".repeat(200_000) + "\nend\n");
  mkdirSync(p("dir"));
  symlinkSync("lines.txt", p("link"));
});
afterAll(() => h.close());

function split(out: string) {
  const nl = out.indexOf("\n");
  return { header: kv(out.slice(0, nl)), body: out.slice(nl + 1) };
}

describe("read", () => {
  test.each([
    ["whole file", ["--length=100"], "lines.txt", { size: "19", offset: "0", length: "19" }, "one\ntwo\nthree\nfour\n"],
    ["offset", ["--length=100", "--offset=4"], "lines.txt", { size: "19", offset: "4", length: "15" }, "two\nthree\nfour\n"],
    ["length cuts", ["--length=5", "--offset=4"], "lines.txt", { offset: "4", length: "5" }, "two\nt"],
    ["offset at end", ["--length=5", "--offset=19"], "lines.txt", { offset: "19", length: "0" }, ""],
    ["offset past end", ["--length=5", "--offset=99"], "lines.txt", { size: "19", offset: "19", length: "0" }, ""],
    ["head", ["--length=100", "--head=2"], "lines.txt", { offset: "0", length: "8" }, "one\ntwo\n"],
    ["head more than lines", ["--length=100", "--head=9"], "nonl.txt", { length: "5" }, "a\nb\nc"],
    ["head cut by length", ["--length=5", "--head=3"], "lines.txt", { length: "5" }, "one\nt"],
    ["tail", ["--length=100", "--tail=2"], "lines.txt", { offset: "8", length: "11" }, "three\nfour\n"],
    ["tail without final newline", ["--length=100", "--tail=2"], "nonl.txt", { offset: "2", length: "3" }, "b\nc"],
    ["tail more than lines", ["--length=100", "--tail=10"], "lines.txt", { offset: "0" }, "one\ntwo\nthree\nfour\n"],
    ["tail cut by length: the last bytes", ["--length=6", "--tail=3"], "lines.txt", { offset: "13", length: "6" }, "\nfour\n"],
    ["empty file", ["--length=10"], "empty.txt", { size: "0", length: "0" }, ""],
    ["empty file tail", ["--length=10", "--tail=3"], "empty.txt", { size: "0", length: "0" }, ""],
    ["through a symlink", ["--length=4"], "link", { size: "19" }, "one\n"],
    ["unicode name", ["--length=100"], "uni ☃.txt", {}, "héllo ☃ wörld\n"],
    ["newline in name", ["--length=100"], "new\nline.txt", {}, "nl\n"],
    ["a long line, tail", ["--length=100", "--tail=1"], "long.txt", { length: "4" }, "end\n"],
  ])("%s", async (_name, args, file, header, body) => {
    const r = await h.run("read", [...args, p(file)]);
    expect(r.exitCode).toBe(0);
    const got = split(r.out);
    expect(got.header).toMatchObject(header);
    expect(got.body).toBe(body);
    expect(Number(got.header.length)).toBe(Buffer.byteLength(body));
  });

  test("a large read returns exactly the bytes asked for", async () => {
    const r = await h.run("read", ["--length=262144", "--offset=1000", p("big.bin")]);
    expect(r.exitCode).toBe(0);
    const nl = r.stdout.indexOf(10);
    expect(kv(Buffer.from(r.stdout.subarray(0, nl)).toString())).toEqual({ size: "300000", offset: "1000", length: "262144" });
    expect(r.stdout.length - nl - 1).toBe(262144);
  });

  test.each([
    ["a directory", ["--length=1", "dir"], 1, "EISDIR"],
    ["a missing file", ["--length=1", "missing"], 1, "ENOENT"],
    ["a file used as a directory", ["--length=1", "lines.txt/x"], 1, "ENOTDIR"],
    ["no --length", ["lines.txt"], 2, "EINVAL"],
    ["head and tail", ["--length=1", "--head=1", "--tail=1", "lines.txt"], 2, "EINVAL"],
    ["an unknown option", ["--length=1", "--bogus", "lines.txt"], 2, "EINVAL"],
    ["a bad number", ["--length=-1", "lines.txt"], 2, "EINVAL"],
    ["two paths", ["--length=1", "lines.txt", "nonl.txt"], 2, "EINVAL"],
  ])("%s fails", async (_name, args, exit, code) => {
    const last = args.length - 1;
    const a = args.map((x, i) => (i === last && !x.startsWith("--") ? p(x) : x));
    if (_name === "two paths") a[a.length - 2] = p("lines.txt");
    const r = await h.run("read", a);
    expect(r.exitCode).toBe(exit);
    expect(r.code).toBe(code);
    expect(r.stdout.length).toBe(0);
  });

  test("outside the roots is refused by the runtime, and the message names the path", async () => {
    const r = await h.run("read", ["--length=10", "/etc/passwd"]);
    expect(r.exitCode).toBe(1);
    expect(r.code).toMatch(/ENOTCAPABLE|EPERM|EACCES|ENOENT/);
    expect(r.stderr).toContain("/etc/passwd");
    expect(r.stdout.length).toBe(0);
  });
});
