import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, readlinkSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, test } from "vitest";
import { harness, kv, type Harness } from "./helpers.js";

/* wasm-tools/write.c through the real sandbox (PROTOCOL.md: write). */

let h: Harness;
const p = (...names: string[]) => join(h.root, ...names);

/** Every `.warden-*.tmp` left anywhere under the root. */
function leftovers(dir = h.root): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (e.name.includes(".warden-") && e.name.endsWith(".tmp")) out.push(join(dir, e.name));
    if (e.isDirectory()) out.push(...leftovers(join(dir, e.name)));
  }
  return out;
}

beforeAll(() => {
  h = harness();
});
afterEach(() => expect(leftovers()).toEqual([]));
afterAll(() => h.close());

describe("write", () => {
  test("creates a new file and says so", async () => {
    const r = await h.run("write", [p("new.txt")], { stdin: "hello" });
    expect(r.exitCode).toBe(0);
    expect(kv(r.out)).toEqual({ bytes: "5", created: "1" });
    expect(readFileSync(p("new.txt"), "utf8")).toBe("hello");
  });

  test("replaces an existing file atomically and keeps its mode", async () => {
    writeFileSync(p("keep.sh"), "old content that is longer");
    chmodSync(p("keep.sh"), 0o751);
    const r = await h.run("write", [p("keep.sh")], { stdin: "new" });
    expect(kv(r.out)).toEqual({ bytes: "3", created: "0" });
    expect(readFileSync(p("keep.sh"), "utf8")).toBe("new");
    expect(statSync(p("keep.sh")).mode & 0o777).toBe(0o751);
  });

  test("empty content makes an empty file", async () => {
    const r = await h.run("write", [p("empty.txt")]);
    expect(r.exitCode).toBe(0);
    expect(readFileSync(p("empty.txt"), "utf8")).toBe("");
  });

  test("a large content streams through", async () => {
    const big = Buffer.alloc(5 * 1024 * 1024 + 3, 0x41);
    const r = await h.run("write", [p("big.bin")], { stdin: big });
    expect(kv(r.out).bytes).toBe(String(big.length));
    expect(statSync(p("big.bin")).size).toBe(big.length);
  });

  test("binary and unicode content is written byte for byte", async () => {
    const data = Buffer.concat([Buffer.from([0, 1, 2, 255, 0]), Buffer.from("☃ é\r\n")]);
    await h.run("write", [p("bin.dat")], { stdin: data });
    expect(readFileSync(p("bin.dat")).equals(data)).toBe(true);
  });

  test("writing through a symlink replaces the target and keeps the link", async () => {
    writeFileSync(p("target.txt"), "before");
    symlinkSync("target.txt", p("link.txt"));
    const r = await h.run("write", [p("link.txt")], { stdin: "after" });
    expect(kv(r.out).created).toBe("0");
    expect(readlinkSync(p("link.txt"))).toBe("target.txt");
    expect(readFileSync(p("target.txt"), "utf8")).toBe("after");
  });

  test("a chain of symlinks and a dangling link resolve to the final name", async () => {
    mkdirSync(p("sub"));
    symlinkSync("../chain2", p("sub", "chain1"));
    symlinkSync("sub/made.txt", p("chain2"));
    const r = await h.run("write", [p("sub", "chain1")], { stdin: "via chain" });
    expect(r.exitCode).toBe(0);
    expect(kv(r.out).created).toBe("1");
    expect(readFileSync(p("sub", "made.txt"), "utf8")).toBe("via chain");
  });

  test("a symlink loop is ELOOP", async () => {
    symlinkSync("loop-b", p("loop-a"));
    symlinkSync("loop-a", p("loop-b"));
    const r = await h.run("write", [p("loop-a")], { stdin: "x" });
    expect(r.exitCode).toBe(1);
    expect(r.code).toBe("ELOOP");
  });

  test("--append appends, and creates when missing", async () => {
    writeFileSync(p("log.txt"), "a\n");
    let r = await h.run("write", ["--append", p("log.txt")], { stdin: "b\n" });
    expect(kv(r.out)).toEqual({ bytes: "2", created: "0" });
    r = await h.run("write", ["--append", p("log.txt")], { stdin: "c\n" });
    expect(readFileSync(p("log.txt"), "utf8")).toBe("a\nb\nc\n");
    r = await h.run("write", ["--append", p("fresh.log")], { stdin: "x" });
    expect(kv(r.out).created).toBe("1");
    expect(readFileSync(p("fresh.log"), "utf8")).toBe("x");
  });

  test("--create-dirs makes missing parents; without it the parent must exist", async () => {
    let r = await h.run("write", [p("d1", "d2", "f.txt")], { stdin: "x" });
    expect(r.exitCode).toBe(1);
    expect(r.code).toBe("ENOENT");
    expect(existsSync(p("d1"))).toBe(false);
    r = await h.run("write", ["--create-dirs", p("d1", "d2", "f.txt")], { stdin: "deep" });
    expect(r.exitCode).toBe(0);
    expect(readFileSync(p("d1", "d2", "f.txt"), "utf8")).toBe("deep");
    r = await h.run("write", ["--create-dirs", "--append", p("d3", "g.txt")], { stdin: "x" });
    expect(readFileSync(p("d3", "g.txt"), "utf8")).toBe("x");
  });

  test("names with spaces, newlines and unicode", async () => {
    for (const name of ["with space.txt", "new\nline.txt", "☃ snow.txt", " lead", "x".repeat(250)]) {
      const r = await h.run("write", [p(name)], { stdin: name });
      expect(r.exitCode).toBe(0);
      expect(readFileSync(p(name), "utf8")).toBe(name);
    }
  });

  test.each([
    ["a directory", ["dirx"], "EISDIR"],
    ["a file as a parent", ["new.txt/child"], "ENOTDIR"],
    ["an unknown option", ["--bogus", "x.txt"], "EINVAL"],
    ["no path", [], "EINVAL"],
  ])("%s fails and leaves no temporary file", async (_n, args, code) => {
    mkdirSync(p("dirx"), { recursive: true });
    const a = args.map((x) => (x.startsWith("--") ? x : p(x)));
    const r = await h.run("write", a, { stdin: "data" });
    expect(r.exitCode).toBe(code === "EINVAL" ? 2 : 1);
    expect(r.code).toBe(code);
    expect(r.stdout.length).toBe(0);
  });

  test("a read-only root refuses and the target stays as it was", async () => {
    writeFileSync(p("ro.txt"), "original");
    const scope = { preopens: [{ hostPath: h.root, writable: false }], denyGlobs: [] };
    for (const args of [[p("ro.txt")], ["--append", p("ro.txt")], [p("ro-new.txt")]]) {
      const r = await h.run("write", args, { stdin: "changed", scope });
      expect(r.exitCode).toBe(1);
      expect(r.code).toMatch(/EROFS|EPERM|EACCES|ENOTCAPABLE/);
    }
    expect(readFileSync(p("ro.txt"), "utf8")).toBe("original");
    expect(existsSync(p("ro-new.txt"))).toBe(false);
  });

  test("a symlink leaving the root is refused and nothing is written outside", async () => {
    const outside = harness("warden-wt-out-");
    try {
      symlinkSync(join(outside.root, "victim.txt"), p("escape.txt"));
      const r = await h.run("write", [p("escape.txt")], { stdin: "pwned" });
      expect(r.exitCode).toBe(1);
      expect(existsSync(join(outside.root, "victim.txt"))).toBe(false);
      expect(readdirSync(outside.root)).toEqual([]);
    } finally {
      await outside.close();
    }
  });
});

describe("--tmp-tag and --discard-tmp (a stopped run's temporary file)", () => {
  test("a write with --tmp-tag replaces the file through `.NAME.warden-TAG.tmp` and leaves nothing", async () => {
    writeFileSync(p("tagged.txt"), "old");
    const r = await h.run("write", ["--tmp-tag=0123abcd", p("tagged.txt")], { stdin: "new" });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(readFileSync(p("tagged.txt"), "utf8")).toBe("new");
  });

  test("--discard-tmp removes exactly the temporary file with that tag, and nothing else", async () => {
    writeFileSync(p("kept.txt"), "original");
    writeFileSync(p(".kept.txt.warden-abcdef01.tmp"), "half a write");
    writeFileSync(p(".kept.txt.warden-12345678.tmp"), "another writer's");
    const r = await h.run("write", ["--discard-tmp", "--tmp-tag=abcdef01", p("kept.txt")]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.out).toBe("discarded=1\n");
    expect(existsSync(p(".kept.txt.warden-abcdef01.tmp"))).toBe(false);
    expect(readFileSync(p(".kept.txt.warden-12345678.tmp"), "utf8")).toBe("another writer's");
    expect(readFileSync(p("kept.txt"), "utf8")).toBe("original");
    expect((await h.run("write", ["--discard-tmp", "--tmp-tag=abcdef01", p("kept.txt")])).out).toBe("discarded=0\n");
    // a missing file or directory: nothing to discard
    expect((await h.run("write", ["--discard-tmp", "--tmp-tag=abcdef01", p("nope/x.txt")])).out).toBe("discarded=0\n");
    writeFileSync(p(".kept.txt.warden-12345678.tmp"), "");
    await h.run("write", ["--discard-tmp", "--tmp-tag=12345678", p("kept.txt")]);
  });

  test("through a symlink the temporary file is the one beside its target", async () => {
    mkdirSync(p("real"));
    writeFileSync(p("real/t.txt"), "t");
    symlinkSync("real/t.txt", p("via.txt"));
    writeFileSync(p("real/.t.txt.warden-00ff00ff.tmp"), "x");
    expect((await h.run("write", ["--discard-tmp", "--tmp-tag=00ff00ff", p("via.txt")])).out).toBe("discarded=1\n");
    expect(existsSync(p("real/.t.txt.warden-00ff00ff.tmp"))).toBe(false);
  });

  test("a temporary file already there with the tag is not overwritten: the write fails, the file is unchanged", async () => {
    writeFileSync(p("busy.txt"), "before");
    writeFileSync(p(".busy.txt.warden-deadbeef.tmp"), "someone's");
    const r = await h.run("write", ["--tmp-tag=deadbeef", p("busy.txt")], { stdin: "after" });
    expect(r.exitCode).toBe(1);
    expect(r.code).toBe("EEXIST");
    expect(readFileSync(p("busy.txt"), "utf8")).toBe("before");
    expect(readFileSync(p(".busy.txt.warden-deadbeef.tmp"), "utf8")).toBe("someone's");
    await h.run("write", ["--discard-tmp", "--tmp-tag=deadbeef", p("busy.txt")]);
  });

  test.each(["--tmp-tag=ABCDEF01", "--tmp-tag=abc", "--tmp-tag=abcdef012", "--tmp-tag=../../x1", "--tmp-tag="])("%s is bad usage", async (flag) => {
    const r = await h.run("write", [flag, p("x.txt")], { stdin: "x" });
    expect(r.exitCode).toBe(2);
    expect(existsSync(p("x.txt"))).toBe(false);
  });

  test("--discard-tmp needs a tag and takes no other option", async () => {
    expect((await h.run("write", ["--discard-tmp", p("x.txt")])).exitCode).toBe(2);
    expect((await h.run("write", ["--discard-tmp", "--append", "--tmp-tag=abcdef01", p("x.txt")])).exitCode).toBe(2);
  });
});
