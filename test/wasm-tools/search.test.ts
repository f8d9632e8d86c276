import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { createSandbox, newClaimTable } from "../../src/sandbox/index.js";
import { fields, harness, kv, records, type Harness } from "./helpers.js";

/* wasm-tools/search.c (and glob.c) through the real sandbox (PROTOCOL.md: search). */

let h: Harness;
const put = (rel: string, content: string | Buffer = "x") => {
  const file = join(h.root, rel);
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, content);
};

beforeAll(() => {
  h = harness();
});
afterAll(() => h.close());

async function names(dir: string, ...args: string[]) {
  const r = await h.run("search", [...args, join(h.root, dir)]);
  expect(r.exitCode, r.stderr).toBe(0);
  return fields(r.out).sort();
}

async function lines(dir: string, ...args: string[]) {
  const r = await h.run("search", [...args, join(h.root, dir)]);
  expect(r.exitCode, r.stderr).toBe(0);
  return { rows: records(r.out, 3).map(([p, l, t]) => `${p}:${l}:${t}`), stats: kv(r.stderr) };
}

describe("globs (name mode)", () => {
  const files = ["a.txt", "b.md", ".env", ".hidden/x.txt", "src/index.ts", "src/app.test.ts", "src/lib/util.ts", "src/lib/deep/x.js",
    "src/lib/deep/y.jsx", "docs/README.md", "docs/guide/intro.md", "with space/file name.txt", "ünï/cödé.ts", "br[ack]et.txt",
    "star*name.txt", "q1.txt", "q12.txt", "Upper.TXT", "abc/abd/abe", "x/a/b/c/a/b/d.txt", "new\nline.txt"];
  beforeAll(() => files.forEach((f) => put(`g/${f}`)));

  // Expectations cross-checked against picomatch({dot: true}); the one difference is noted.
  test.each<[string, string[]]>([
    ["*", [".env", "Upper.TXT", "a.txt", "b.md", "br[ack]et.txt", "new\nline.txt", "q1.txt", "q12.txt", "star*name.txt"]],
    ["*.txt", ["a.txt", "br[ack]et.txt", "new\nline.txt", "q1.txt", "q12.txt", "star*name.txt"]],
    ["**/*.ts", ["src/app.test.ts", "src/index.ts", "src/lib/util.ts", "ünï/cödé.ts"]],
    ["src/**", ["src/app.test.ts", "src/index.ts", "src/lib/deep/x.js", "src/lib/deep/y.jsx", "src/lib/util.ts"]],
    ["src/**/*.js", ["src/lib/deep/x.js"]],
    ["src/*/*.ts", ["src/lib/util.ts"]],
    ["src/**/deep/*", ["src/lib/deep/x.js", "src/lib/deep/y.jsx"]],
    ["**/deep/**", ["src/lib/deep/x.js", "src/lib/deep/y.jsx"]],
    ["?1.txt", ["q1.txt"]],
    ["q??.txt", ["q12.txt"]],
    ["*.{ts,md}", ["b.md"]],
    ["**/*.{ts,jsx}", ["src/app.test.ts", "src/index.ts", "src/lib/deep/y.jsx", "src/lib/util.ts", "ünï/cödé.ts"]],
    ["{src,docs}/**/*.md", ["docs/README.md", "docs/guide/intro.md"]],
    ["src/{lib/{deep/x.js,util.ts},index.ts}", ["src/index.ts", "src/lib/deep/x.js", "src/lib/util.ts"]],
    ["{a,b}.*", ["a.txt", "b.md"]],
    ["[ab].*", ["a.txt", "b.md"]],
    ["[!ab]*.txt", ["new\nline.txt", "q1.txt", "q12.txt", "star*name.txt"]], // picomatch reads a leading ! as negation
    ["[^ab]*.txt", ["new\nline.txt", "q1.txt", "q12.txt", "star*name.txt"]],
    ["[a-c]*", ["a.txt", "b.md", "br[ack]et.txt"]],
    ["**/[x-y].js*", ["src/lib/deep/x.js", "src/lib/deep/y.jsx"]],
    ["[[:upper:]]*", ["Upper.TXT"]],
    ["br\\[ack\\]et.txt", ["br[ack]et.txt"]],
    ["star\\*name.txt", ["star*name.txt"]],
    ["with space/*", ["with space/file name.txt"]],
    ["ünï/*.ts", ["ünï/cödé.ts"]],
    ["**/?ödé.ts", ["ünï/cödé.ts"]],
    ["x/**/b/d.txt", ["x/a/b/c/a/b/d.txt"]],
    ["x/**/a/**/d.txt", ["x/a/b/c/a/b/d.txt"]],
    ["**/b/**", ["x/a/b/c/a/b/d.txt"]],
    ["abc/**/abe", ["abc/abd/abe"]],
    ["*/a.txt", []],
    ["src/lib", []],
    [".*", [".env"]],
    [".hidden/**", [".hidden/x.txt"]],
    ["./src/*.ts", ["src/app.test.ts", "src/index.ts"]],
    ["*.TXT", ["Upper.TXT"]],
    ["new?line.txt", ["new\nline.txt"]],
  ])("--glob=%s", async (glob, want) => {
    expect(await names("g", `--glob=${glob}`)).toEqual([...want].sort());
  });

  test("no glob, `**` and `**/*` list every file; .git is never walked", async () => {
    put("g/.git/config");
    put("g/.git/objects/ab/cd");
    const all = [...files].sort();
    expect(await names("g")).toEqual(all);
    expect(await names("g", "--glob=**")).toEqual(all);
    expect(await names("g", "--glob=**/*", "--no-gitignore")).toEqual(all);
  });

  test("several --glob options are a union", async () => {
    expect(await names("g", "--glob=*.md", "--glob=**/*.jsx")).toEqual(["b.md", "src/lib/deep/y.jsx"]);
  });

  test("--icase makes globs case-insensitive", async () => {
    expect(await names("g", "--glob=*.txt", "--icase")).toContain("Upper.TXT");
    expect(await names("g", "--glob=SRC/**/*.TS", "--icase")).toEqual(["src/app.test.ts", "src/index.ts", "src/lib/util.ts"]);
    expect(await names("g", "--glob=[[:lower:]]*.txt", "--icase")).toContain("Upper.TXT");
  });

  test("--exclude removes files, and a matching directory with everything below it", async () => {
    expect(await names("g", "--glob=**/*.ts", "--exclude=src/**")).toEqual(["ünï/cödé.ts"]);
    expect(await names("g", "--glob=src/**", "--exclude=**/deep")).toEqual(["src/app.test.ts", "src/index.ts", "src/lib/util.ts"]);
    expect(await names("g", "--glob=src/**", "--exclude=*.test.ts", "--exclude=**/*.test.ts")).not.toContain("src/app.test.ts");
    expect(await names("g", "--exclude=**/*", "--glob=**")).toEqual([]);
  });

  test("--max stops and reports truncation", async () => {
    const r = await h.run("search", ["--max=3", join(h.root, "g")]);
    expect(fields(r.out).length).toBe(3);
    expect(kv(r.stderr)).toMatchObject({ matches: "3", truncated: "1" });
    const exact = await h.run("search", ["--glob=*.md", "--max=1", join(h.root, "g")]);
    expect(kv(exact.stderr)).toMatchObject({ matches: "1", truncated: "0" });
  });

  test("symlinks are neither followed nor listed", async () => {
    const { symlinkSync } = await import("node:fs");
    symlinkSync("src", join(h.root, "g", "srclink"));
    symlinkSync("a.txt", join(h.root, "g", "alink.txt"));
    const got = await names("g");
    expect(got.some((n) => n.startsWith("srclink") || n === "alink.txt")).toBe(false);
  });

  test.each([
    ["an unknown option", ["--regex=x"]],
    ["an empty glob", ["--glob="]],
  ])("%s is a usage error", async (_n, args) => {
    const r = await h.run("search", [...args, join(h.root, "g")]);
    expect([r.exitCode, r.code]).toEqual([2, "EINVAL"]);
  });

  test("a missing directory, and a file, fail clearly", async () => {
    expect((await h.run("search", [join(h.root, "nope")])).code).toBe("ENOENT");
    expect((await h.run("search", [join(h.root, "g", "a.txt")])).code).toBe("ENOTDIR");
  });
});

describe(".gitignore", () => {
  beforeAll(() => {
    put("gi/.gitignore", ["# a comment", "", "*.log", "!keep.log", "/build", "dist/", "docs/**", "!docs/keep.md", "trailing.txt   ", "\\#hash.txt", "a/**/z.txt"].join("\n") + "\n");
    for (const f of ["a.log", "keep.log", "build/x.txt", "sub/build/y.txt", "dist/z.txt", "sub/dist/z.txt", "sub2/dist", "docs/a.md",
      "docs/keep.md", "docs/sub/keep.md", "trailing.txt", "#hash.txt", "a/z.txt", "a/b/c/z.txt", "a/b/c/y.txt", "x.tmp", "ok.txt",
      "sub/x.tmp", "sub/important.tmp", "sub/only-here.txt", "sub/deeper/only-here.txt", "sub/deeper/n.log", "sub2/w.crlf", "sub2/v.txt"]) put(`gi/${f}`);
    put("gi/sub/.gitignore", "*.tmp\n!important.tmp\n/only-here.txt\n");
    put("gi/sub2/.gitignore", "*.crlf\r\n");
    put("gi/.git/HEAD");
  });

  test("patterns, negation, directory-only, anchoring and nested files", async () => {
    expect(await names("gi")).toEqual([
      ".gitignore", "a/b/c/y.txt", "keep.log", "ok.txt", "sub/.gitignore", "sub/build/y.txt", "sub/deeper/only-here.txt",
      "sub/important.tmp", "sub2/.gitignore", "sub2/dist", "sub2/v.txt", "x.tmp", "docs/keep.md",
    ].sort());
  });

  test("--no-gitignore sees everything but .git", async () => {
    const all = await names("gi", "--no-gitignore");
    expect(all).toContain("a.log");
    expect(all).toContain("sub/x.tmp");
    expect(all.length).toBe(27);
    expect(all.some((n) => n.startsWith(".git/"))).toBe(false);
  });

  test("searching a subdirectory uses the .gitignore files from there down", async () => {
    expect(await names("gi/sub")).toEqual([".gitignore", "build/y.txt", "deeper/n.log", "deeper/only-here.txt", "dist/z.txt", "important.tmp"]);
  });

  test("content search honours .gitignore too", async () => {
    put("gi/ignored.log", "needle\n");
    put("gi/seen.txt", "needle\n");
    expect((await lines("gi", "--content=needle")).rows).toEqual(["seen.txt:1:needle"]);
  });
});

describe("content", () => {
  beforeAll(() => {
    put("c/one.txt", "alpha\nbeta gamma\nGamma ray\n\nend gamma");
    put("c/crlf.txt", "first\r\nsecond gamma\r\n");
    put("c/uni.txt", "naïve café\nЖЖЖ gamma\n☃\n");
    put("c/bin.dat", Buffer.concat([Buffer.from("gamma\n"), Buffer.from([0, 1, 2]), Buffer.from("gamma\n")]));
    put("c/late-nul.txt", Buffer.concat([Buffer.from("gamma one\n" + "x\n".repeat(5000)), Buffer.from([0]), Buffer.from("\ngamma two\n")]));
    put("c/long.txt", "é".repeat(400) + "gamma" + "z".repeat(10_000) + "\nshort gamma\n");
  });

  test("records are path, line, text; lines count from 1; no final newline is fine", async () => {
    const r = await lines("c", "--content=gamma", "--glob=one.txt");
    expect(r.rows).toEqual(["one.txt:2:beta gamma", "one.txt:5:end gamma"]);
    expect(r.stats).toMatchObject({ files: "1", matches: "2", truncated: "0" });
  });

  test("--icase, anchors, classes, alternation", async () => {
    expect((await lines("c", "--content=gamma", "--icase", "--glob=one.txt")).rows).toEqual(["one.txt:2:beta gamma", "one.txt:3:Gamma ray", "one.txt:5:end gamma"]);
    expect((await lines("c", "--content=^[A-Z]", "--glob=one.txt")).rows).toEqual(["one.txt:3:Gamma ray"]);
    expect((await lines("c", "--content=a$", "--glob=one.txt")).rows).toEqual(["one.txt:1:alpha", "one.txt:2:beta gamma", "one.txt:5:end gamma"]);
    expect((await lines("c", "--content=^$", "--glob=one.txt")).rows).toEqual(["one.txt:4:"]);
    expect((await lines("c", "--content=alpha|ray", "--glob=one.txt")).rows).toEqual(["one.txt:1:alpha", "one.txt:3:Gamma ray"]);
    expect((await lines("c", "--content=(be|en)[a-z]* g", "--glob=one.txt")).rows).toEqual(["one.txt:2:beta gamma", "one.txt:5:end gamma"]);
  });

  test("CRLF lines come back without the CR", async () => {
    expect((await lines("c", "--content=gamma$", "--glob=crlf.txt")).rows).toEqual([]);
    expect((await lines("c", "--content=gamma", "--glob=crlf.txt")).rows).toEqual(["crlf.txt:2:second gamma"]);
  });

  test("unicode content and patterns", async () => {
    expect((await lines("c", "--content=café", "--glob=uni.txt")).rows).toEqual(["uni.txt:1:naïve café"]);
    expect((await lines("c", "--content=Ж+ g", "--glob=uni.txt")).rows).toEqual(["uni.txt:2:ЖЖЖ gamma"]);
    expect((await lines("c", "--content=☃", "--glob=uni.txt")).rows).toEqual(["uni.txt:3:☃"]);
  });

  test("binary files (NUL in the first 8 KiB) are skipped; a later NUL ends the search of that file", async () => {
    expect((await lines("c", "--content=gamma", "--glob=bin.dat")).rows).toEqual([]);
    expect((await lines("c", "--content=gamma", "--glob=late-nul.txt")).rows).toEqual(["late-nul.txt:1:gamma one"]);
  });

  test("a long line is cut to 512 bytes on a character boundary", async () => {
    const r = await lines("c", "--content=gamma", "--glob=long.txt");
    expect(r.rows.length).toBe(2);
    const text = r.rows[0]!.slice("long.txt:1:".length);
    expect(Buffer.byteLength(text)).toBe(512);
    expect(text).toBe("é".repeat(256));
    expect(r.rows[1]).toBe("long.txt:2:short gamma");
  });

  test("files larger than the read buffer: matches across chunks keep their line numbers", async () => {
    const parts: string[] = [];
    for (let i = 1; i <= 120_000; i++) parts.push(i % 25_000 === 0 ? `needle at ${i}` : `filler line number ${i} ${"-".repeat(20)}`);
    put("big/big.txt", parts.join("\n") + "\n");
    put("big/huge-line.txt", "a".repeat(3 << 20) + "needle\nnext needle\n");
    const r = await lines("big", "--content=needle at");
    expect(r.rows).toEqual([25_000, 50_000, 75_000, 100_000].map((n) => `big.txt:${n}:needle at ${n}`));
    const regex = await lines("big", "--content=ne+dle a[t]", "--glob=big.txt");
    expect(regex.rows.length).toBe(4);
    const huge = await lines("big", "--content=needle", "--glob=huge-line.txt");
    expect(huge.rows.map((x) => x.slice(0, 20))).toEqual([`huge-line.txt:1:${"a".repeat(4)}`, "huge-line.txt:2:next"]);
  });

  test("--max across files stops and says truncated", async () => {
    const r = await lines("c", "--content=gamma", "--max=2");
    expect(r.rows.length).toBe(2);
    expect(r.stats.truncated).toBe("1");
  });

  test.each([["(unclosed"], ["a{2,1}"], ["[z-a]"], [""]])("a bad regex %j is BADREGEX", async (re) => {
    const r = await h.run("search", [`--content=${re}`, join(h.root, "c")]);
    expect([r.exitCode, r.code]).toEqual([1, "BADREGEX"]);
  });
});

/*
 * The literal prefilter must never change results: the same corpus searched with the module and
 * with a line-by-line JavaScript RegExp reference (patterns chosen so ERE and JS agree).
 */
describe("literal prefilter agrees with a plain line-by-line regex", () => {
  const words = ["ÉCOLE", "naïve", "fooé", "foo", "bar", "Foo", "BAR", "struct", "x_y", "colour", "color", "abc", "abbc", "ac", "a.c", "2024-01-02", "{", "}", "(", ")", "é", "ß", "  ", "\t", "#include", "<stdio.h>", "return", "ret"];
  beforeAll(() => {
    let seed = 42; // mulberry32
    const rnd = (n: number) => {
      seed = (seed + 0x6d2b79f5) | 0;
      let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return ((t ^ (t >>> 14)) >>> 0) % n;
    };
    for (let f = 0; f < 20; f++) {
      const out: string[] = [];
      for (let l = 0; l < 300; l++) {
        const n = rnd(8);
        const ws: string[] = [];
        for (let k = 0; k < n; k++) ws.push(words[rnd(words.length)]!);
        out.push(ws.join(rnd(3) ? " " : ""));
      }
      put(`diff/f${f}.txt`, out.join(rnd(4) ? "\n" : "\r\n"));
    }
  });
  const corpus = async () => {
    const { readFileSync, readdirSync } = await import("node:fs");
    return readdirSync(join(h.root, "diff")).sort().map((name) => ({ name, text: readFileSync(join(h.root, "diff", name), "utf8") }));
  };
  test.each<[string, string, boolean?]>([
    ["foo", "foo"], ["foo", "foo", true], ["foo|bar", "foo|bar"], ["foo|bar", "foo|bar", true], ["struct [a-z_]+ \\{", "struct [a-z_]+ \\{"],
    ["colou?r", "colou?r"], ["ab+c", "ab+c"], ["ab*c", "ab*c"], ["a\\.c", "a\\.c"], ["a.c", "a.c"], ["^#include <std", "^#include <std"],
    ["[0-9]{4}-[0-9]{2}", "[0-9]{4}-[0-9]{2}"], ["(foo|bar) (bar|foo)", "(foo|bar) (bar|foo)"], ["ret(urn)? ", "ret(urn)? "],
    ["x_y$", "x_y$"], ["^$", "^$"], ["é+ß", "é+ß"], ["FOO bar", "FOO bar", true], ["\\(\\)", "\\(\\)"], ["[{}]{2}", "[{}]{2}"],
    ["foo (bar)+ abc", "foo (bar)+ abc"], ["c(ol)+", "c(ol)+"], ["a{2}", "a{2}"], ["b{1,2}c x", "b{1,2}c x"],
    // no literal at all: the DFA (ASCII lines) and regexec (the others) decide every line
    ["[0-9]{4}", "[0-9]{4}"], ["^[a-z]+$", "^[a-z]+$"], ["^[^ ]*$", "^[^ ]*$"], ["[A-Z]{3}", "[A-Z]{3}"], ["[a-z]{3}", "[a-z]{3}", true],
    ["^.{5}$", "^[^\\n]{5}$"], ["^.{1,3}$", "^[^\\n]{1,3}$"], ["(o|a)r$", "(o|a)r$"], ["\\w+\\s\\d", "[\\p{L}\\p{N}_]+\\s[0-9]"], ["\\W\\W\\W", "[^\\p{L}\\p{N}_]{3}"],
    ["[[:upper:]][[:lower:]]", "\\p{Lu}\\p{Ll}"], ["[[:upper:]][[:lower:]]", "[\\p{Lu}\\p{Ll}]{2}", true], ["[^a-z ]{2}", "[^a-z ]{2}"],
    ["[^a-z ]{2}", "[^a-z ]{2}", true], ["(ab|ac)*c", "(ab|ac)*c"], ["^(foo|bar)?$", "^(foo|bar)?$"], ["\\t", "\\t"], ["[[:space:]]{2}", "\\s{2}"],
    ["b{2,}", "b{2,}"], ["(x_y|é)[^a]", "(x_y|é)[^a]"], [".ß", "[^\\n]ß"], ["^..$", "^[^\\n]{2}$"],
    ["c*", "c*"], ["^(x_y)*$", "^(x_y)*$"], ["[[:digit:]]+$", "[0-9]+$"], ["[[:punct:]]{3}", "[!-/:-@\\[-`{-~]{3}"],
  ])("%s", async (ere, js, icase) => {
    const files = await corpus();
    const re = new RegExp(js, icase ? "iu" : "u"); // search runs musl regex in C.UTF-8: characters, Unicode classes
    const want: string[] = [];
    for (const { name, text } of files) {
      const ls = text.split("\n");
      if (text.endsWith("\n")) ls.pop(); // a final newline ends the last line; it does not start one
      ls.forEach((line, i) => {
        // like rg: `$` does not match before a CR, but the CR is not part of the reported text
        if (re.test(line)) want.push(`${name}:${i + 1}:${line.endsWith("\r") ? line.slice(0, -1) : line}`);
      });
    }
    const got = await lines("diff", `--content=${ere}`, "--max=100000", ...(icase ? ["--icase"] : []));
    expect(got.rows).toEqual(want);
  });
});

test("a pattern whose DFA outgrows its state budget still gives the right lines", async () => {
  let seed = 7;
  const rnd = () => ((seed = (seed * 48271) % 2147483647), seed);
  const out: string[] = [];
  for (let l = 0; l < 20_000; l++) {
    let s = "";
    for (let k = 0, n = 14 + (rnd() % 20); k < n; k++) s += rnd() % 2 ? "a" : "b";
    out.push(s);
  }
  put("blowup/ab.txt", out.join("\n") + "\n");
  const re = /a[ab]{11}$/;
  const want = out.flatMap((line, i) => (re.test(line) ? [`ab.txt:${i + 1}:${line}`] : []));
  const got = await lines("blowup", "--content=a[ab]{11}$", "--max=100000");
  expect(got.rows).toEqual(want);
  const prefixed = await lines("blowup", "--content=ba[ab]{11}$", "--max=100000");
  expect(prefixed.rows).toEqual(out.flatMap((line, i) => (/ba[ab]{11}$/.test(line) ? [`ab.txt:${i + 1}:${line}`] : [])));
  const noLiteral = await lines("blowup", "--content=[a][ab]{11}$", "--max=100000");
  expect(noLiteral.rows).toEqual(want);
});

describe("--shard=I/N (a content search split over runs)", () => {
  beforeAll(() => {
    // Files at every level, and directories two levels down (dealt to the shards whole).
    const files = ["a.txt", "a/x.txt", "a/y/z.txt", "a.b/k.txt", "b.txt", "c/d/e.txt", "c/f.txt", "ü.txt", "z.txt", "p/q/r/s.txt", "p/q/r/t/u.txt",
      "p/q/v/w.txt", "p/q/x/y/z/deep.txt", "p/q2/r/s.txt", "p/q2/s/t.txt", "p/q2.txt", "p/q/a.txt"];
    for (const f of files) put(`shard/${f}`, `one hit\nnone\nhit two\n`);
  });

  test("the shards' records, in walk order, are exactly one run's; files add up", async () => {
    const whole = await lines("shard", "--content=hit");
    const parts = [];
    for (let i = 0; i < 3; i++) parts.push(await lines("shard", "--content=hit", `--shard=${i}/3`));
    expect(parts.every((p) => p.rows.length > 0)).toBe(true);
    const order = (row: string) => whole.rows.indexOf(row);
    const merged = parts.flatMap((p) => p.rows).sort((x, y) => order(x) - order(y));
    expect(merged).toEqual(whole.rows);
    expect(parts.reduce((n, p) => n + Number(p.stats.files), 0)).toBe(Number(whole.stats.files));
    for (const p of parts) expect([...p.rows].sort((x, y) => order(x) - order(y))).toEqual(p.rows);
  });

  test("with a claim table the first shard to claim a unit takes it: still exactly one run's records", async () => {
    const whole = await lines("shard", "--content=hit");
    const order = (row: string) => whole.rows.indexOf(row);
    const run = async (i: number, claims: SharedArrayBuffer) => {
      const r = await h.run("search", ["--content=hit", `--shard=${i}/3`, join(h.root, "shard")], { claims });
      return { rows: records(r.out, 3).map(([p, l, t]) => `${p}:${l}:${t}`), files: Number(kv(r.stderr.trim().split("\n").pop() ?? "").files) };
    };
    // One after the other: the first shard claims every unit, the others find nothing left.
    const table = newClaimTable();
    const first = await run(1, table);
    expect(first.rows).toEqual(whole.rows);
    expect(first.files).toBe(Number(whole.stats.files));
    for (const i of [0, 2]) expect(await run(i, table)).toEqual({ rows: [], files: 0 });
    // All at once (this harness has one worker, so they interleave only through the table): the
    // union is one run's, nothing twice.
    const shared = newClaimTable();
    const parts = await Promise.all([0, 1, 2].map((i) => run(i, shared)));
    const merged = parts.flatMap((p) => p.rows).sort((x, y) => order(x) - order(y));
    expect(merged).toEqual(whole.rows);
    expect(parts.reduce((n, p) => n + p.files, 0)).toBe(Number(whole.stats.files));
  });

  test("parallel shards on two workers sharing a claim table search every file exactly once", async () => {
    const sandbox = createSandbox({ workers: 2 });
    try {
      // Enough level-2 directories that a shard cannot finish before the other starts claiming.
      for (let d = 0; d < 40; d++) for (let f = 0; f < 20; f++) put(`wide/t/d${d}/f${f}.txt`, `hit ${d}/${f}\n`.repeat(200));
      const table = newClaimTable();
      const runs = await Promise.all([0, 1].map((i) =>
        sandbox.run({ module: "search", args: ["--content=hit", "--max=1000000", `--shard=${i}/2`, join(h.root, "wide")], scope: h.scope, deadlineMs: 30_000, maxStdoutBytes: 64 << 20, claims: table }),
      ));
      const files = runs.map((r) => Number(kv(r.stderr.trim().split("\n").pop() ?? "").files));
      expect(files[0]! + files[1]!).toBe(800);
      const paths = runs.flatMap((r) => records(Buffer.from(r.stdout).toString("utf8"), 3).map(([p, l]) => `${p}:${l}`));
      expect(new Set(paths).size).toBe(paths.length);
      expect(paths.length).toBe(800 * 200);
    } finally {
      await sandbox.close();
    }
  });

  test.each(["2/2", "1", "x/2", "0/0", "0/65", "1/2x"])("--shard=%s is bad usage", async (v) => {
    const r = await h.run("search", ["--content=hit", `--shard=${v}`, join(h.root, "shard")]);
    expect(r.exitCode).toBe(2);
  });
});
