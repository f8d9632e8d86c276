import {
  chmodSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  realpathSync,
  rmSync,
  statSync,
  symlinkSync,
  unlinkSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import type { SandboxScope } from "../../../src/sandbox/types.js";
import { buildEscapeTree, CANARY } from "../escape-tree.js";
import { tempTree } from "../helpers.js";
import { Harness, type OpResult } from "./harness.js";

/*
 * The resolver, table-driven, through the runtime's own Fd classes (no wasm; the probe suite in
 * ../runtime.test.ts covers the same ground with real WASI code). Every table row is one test.
 */

const t = tempTree("warden-resolve-");
const base = t.dir;
const { allow, outside, ro } = buildEscapeTree(base);
const DENY = ["**/.env", "**/.env.*", "secrets/**", "**/private"];
const rw: SandboxScope = { preopens: [{ hostPath: allow, writable: true }], denyGlobs: DENY };
const roScope: SandboxScope = { preopens: [{ hostPath: ro, writable: false }], denyGlobs: [] };

/** Snapshot of everything outside the root, to prove nothing was created or changed there. */
function snapshotOutside(): string {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (p === allow || p === ro) continue;
      if (e.isDirectory()) walk(p);
      else out.push(`${p}:${e.isFile() ? readFileSync(p, "utf8") : "?"}`);
    }
  };
  walk(base);
  return out.sort().join("\n");
}
let before = "";
beforeAll(() => {
  before = snapshotOutside();
});
afterAll(() => {
  // The global invariant of the whole suite: nothing outside the roots was created or changed.
  expect(snapshotOutside()).toBe(before);
  t.cleanup();
});

/** Runs `op` in a fresh run context; asserts it leaked no descriptor; returns result + denials. */
function run(scope: SandboxScope, op: (h: Harness) => OpResult) {
  const h = new Harness(scope);
  const result = op(h);
  const denials = [...h.ctx.denials];
  expect(h.close(), "descriptors left open by the operation").toBe(0);
  return { ...result, denials };
}

/** Neither the canary nor a success. */
function expectRefused(r: OpResult & { denials: { rule: string }[] }, code?: string, rule?: string) {
  expect(r.data ?? "").not.toContain(CANARY);
  expect(r.code).not.toBe("OK");
  if (code) expect(r.code).toBe(code);
  if (rule) expect(r.denials.map((d) => d.rule)).toContain(rule);
}

// ---------------------------------------------------------------------------------------------
// `..` in every position, generated: physical prefix, n times `..`, then a target.
// ---------------------------------------------------------------------------------------------
const PREFIXES: [string, string[]][] = [
  ["", []],
  ["./", []],
  ["dir/", ["dir"]],
  ["dir/./", ["dir"]],
  ["dir//", ["dir"]],
  ["dir/deep/", ["dir", "deep"]],
  ["dir/deep/../", ["dir"]],
  ["link_in_dir/", ["dir"]],
  ["link_dot/dir/", ["dir"]],
];
const TARGETS = ["outside/secret.txt", "allow/file.txt", "allow_x/file.txt", "allow'/file.txt", "allow /file.txt", "file.txt", "dir/nested.txt", "deep/d.txt", ""];

interface DotCase {
  path: string;
  escapes: boolean;
  real: string;
}
const dotCases: DotCase[] = [];
for (const [prefix, physical] of PREFIXES) {
  for (let n = 1; n <= 4; n++) {
    for (const target of TARGETS) {
      const path = prefix + "../".repeat(n) + target;
      const escapes = n > physical.length;
      const real = join(allow, ...physical.slice(0, physical.length - n), target);
      dotCases.push({ path, escapes, real });
    }
  }
}

function expectedRead(real: string): OpResult {
  if (!existsSync(real)) return { code: "ENOENT" };
  const st = lstatSync(real);
  if (st.isDirectory()) return { code: "DIR" };
  return { code: "OK", data: readFileSync(real, "utf8") };
}

describe("`..` in every position", () => {
  test.each(dotCases)("read $path", ({ path, escapes, real }) => {
    const r = run(rw, (h) => h.read(path));
    if (escapes) expectRefused(r, "ENOTCAPABLE", "sandbox.escape");
    else expect({ code: r.code, data: r.data }).toEqual({ ...expectedRead(real), data: expectedRead(real).data });
  });
  test.each(dotCases)("stat $path", ({ path, escapes, real }) => {
    const r = run(rw, (h) => h.stat(path));
    if (escapes) expectRefused(r, "ENOTCAPABLE", "sandbox.escape");
    else expect(r.code).toBe(existsSync(real) ? "OK" : "ENOENT");
  });
  test.each(dotCases.filter((c) => c.escapes))("write $path", ({ path }) => {
    expectRefused(run(rw, (h) => h.write(path + (path.endsWith("/") ? "new.txt" : ".new"), "PWNED")), "ENOTCAPABLE", "sandbox.escape");
  });
});

// ---------------------------------------------------------------------------------------------
// Absolute paths, /proc tricks, file:// strings, NUL bytes, prefix siblings.
// ---------------------------------------------------------------------------------------------
const ABSOLUTE = [
  "/etc/passwd",
  "/",
  join(outside, "secret.txt"),
  join(allow, "file.txt"),
  allow,
  join(base, "allow_x/file.txt"),
  join(base, "allow'/file.txt"),
  join(base, "allow /file.txt"),
  `${allow}/../outside/secret.txt`,
  `${allow}_x/file.txt`,
  "/proc/self/root/etc/passwd",
  `/proc/self/root${outside}/secret.txt`,
  "/proc/self/cwd/package.json",
  "/proc/self/fd/0",
  "/proc/self/environ",
  "/dev/zero",
  "//etc/passwd",
  "/./etc/passwd",
  "/../etc/passwd",
];
const ALL_OPS: [string, (h: Harness, p: string) => OpResult][] = [
  ["read", (h, p) => h.read(p)],
  ["stat", (h, p) => h.stat(p)],
  ["lstat", (h, p) => h.stat(p, false)],
  ["write", (h, p) => h.write(p, "PWNED")],
  ["create-excl", (h, p) => h.write(p, "PWNED", { create: true, excl: true })],
  ["append", (h, p) => h.write(p, "PWNED", { create: true, append: true })],
  ["readdir", (h, p) => h.readdir(p)],
  ["mkdir", (h, p) => h.mkdir(p)],
  ["unlink", (h, p) => h.unlink(p)],
  ["rmdir", (h, p) => h.rmdir(p)],
  ["readlink", (h, p) => h.readlink(p)],
  ["utimes", (h, p) => h.utimes(p)],
  ["rename-from", (h, p) => h.rename(p, "stolen.txt")],
  ["rename-to", (h, p) => h.rename("dir/nested.txt", p)],
];
const cross = <T,>(paths: string[], ops: [string, T][]) => paths.flatMap((p) => ops.map(([op, fn]) => ({ p, op, fn })));

describe("absolute paths are never resolved", () => {
  test.each(cross(ABSOLUTE, ALL_OPS))("$op $p", ({ p, fn }) => {
    expectRefused(run(rw, (h) => fn(h, p)), "ENOTCAPABLE", "sandbox.escape");
  });
});

const NUL_PATHS = ["file.txt\0", "file.txt\0../../outside/secret.txt", "dir\0/../..", "\0", "../\0", "link_out_rel\0", "dir/nested.txt\0.png"];
describe("NUL bytes", () => {
  test.each(cross(NUL_PATHS, ALL_OPS))("$op %j", ({ p, fn }) => {
    expectRefused(run(rw, (h) => fn(h, p)), "EINVAL", "sandbox.invalid_path");
  });
});

const STRANGE = ["file:///etc/passwd", `file://${outside}/secret.txt`, "file:/etc/passwd", "file:", "~/secret", "$HOME", "%2e%2e/outside/secret.txt", "..%2foutside", "...", "....//outside", ". ./outside", "allow_x/file.txt", "\\..\\outside"];
describe("strings that only look like escapes stay inside (ENOENT, nothing created outside)", () => {
  test.each(cross(STRANGE, ALL_OPS.filter(([op]) => !op.startsWith("rename"))))("$op $p", ({ p, fn }) => {
    const r = run(rw, (h) => fn(h, p));
    expect(r.data ?? "").not.toContain(CANARY);
  });
  test("nothing they created leaked outside the root", () => {
    expect(existsSync(join(base, "etc"))).toBe(false);
  });
});

// ---------------------------------------------------------------------------------------------
// Symlinks: every link in the tree, every operation.
// ---------------------------------------------------------------------------------------------
type Expect = { read: string; content?: string };
const LINKS: Record<string, Expect> = {
  link_in_file: { read: "OK", content: "inside" },
  link_in_dir: { read: "DIR" },
  link_in_abs: { read: "OK", content: "inside" },
  link_in_abs_dir: { read: "DIR" },
  link_root_abs: { read: "DIR" },
  link_root_abs_slash: { read: "DIR" },
  link_dot: { read: "DIR" },
  "dir/up_link": { read: "OK", content: "inside" },
  "dir/deep/up2_link": { read: "OK", content: "nested" },
  chain_in1: { read: "OK", content: "inside" },
  ok0: { read: "OK", content: "inside" },
  link_out_rel: { read: "ENOTCAPABLE" },
  link_out_dir_rel: { read: "ENOTCAPABLE" },
  link_out_abs: { read: "ENOTCAPABLE" },
  link_out_dir_abs: { read: "ENOTCAPABLE" },
  link_abs_dotdot: { read: "ENOTCAPABLE" },
  link_abs_dotdot_dir: { read: "ENOTCAPABLE" },
  link_sibling: { read: "ENOTCAPABLE" },
  link_sibling_dir: { read: "ENOTCAPABLE" },
  link_sibling_rel: { read: "ENOTCAPABLE" },
  link_quote: { read: "ENOTCAPABLE" },
  link_space: { read: "ENOTCAPABLE" },
  chain1: { read: "ENOTCAPABLE" },
  chain_dir1: { read: "ENOTCAPABLE" },
  dangling_out: { read: "ENOTCAPABLE" },
  dangling_out_abs: { read: "ENOTCAPABLE" },
  dangling_out_dir: { read: "ENOTCAPABLE" },
  link_proc_root: { read: "ENOTCAPABLE" },
  link_proc_cwd: { read: "ENOTCAPABLE" },
  link_proc_fd: { read: "ENOTCAPABLE" },
  link_etc: { read: "ENOTCAPABLE" },
  link_slash: { read: "ENOTCAPABLE" },
  "dir/escape_dotdot": { read: "ENOTCAPABLE" },
  "dir/escape_dotdot_file": { read: "ENOTCAPABLE" },
  link_empty_dots: { read: "ENOTCAPABLE" },
  loop_a: { read: "ELOOP" },
  self_loop: { read: "ELOOP" },
  loop_dir: { read: "ELOOP" },
  hop0: { read: "ELOOP" },
  dangling_in: { read: "ENOENT" },
  link_to_env: { read: "EACCES" },
  link_to_private: { read: "EACCES" },
};
const LINK_ROWS = Object.entries(LINKS).map(([link, e]) => ({ link, ...e }));
const escaping = LINK_ROWS.filter((r) => r.read === "ENOTCAPABLE");

describe("symlinks: read through each link", () => {
  test.each(LINK_ROWS)("read $link -> $read", ({ link, read, content }) => {
    const r = run(rw, (h) => h.read(link));
    expect(r.code).toBe(read);
    if (content !== undefined) expect(r.data).toBe(content);
    if (read === "ENOTCAPABLE") expectRefused(r, "ENOTCAPABLE", "sandbox.escape");
  });
  test.each(LINK_ROWS)("stat $link follows like read", ({ link, read }) => {
    const r = run(rw, (h) => h.stat(link));
    expect(r.code).toBe(read === "DIR" ? "OK" : read);
  });
  test.each(LINK_ROWS)("lstat $link sees the link itself", ({ link }) => {
    const r = run(rw, (h) => h.stat(link, false));
    expect(r.code).toBe("OK");
    expect(r.data).toMatch(/^type=7 /);
  });
  test.each(LINK_ROWS)("readlink $link returns the target string", ({ link }) => {
    expect(run(rw, (h) => h.readlink(link)).code).toBe("OK");
  });
  test.each(LINK_ROWS)("open $link with O_NOFOLLOW is ELOOP", ({ link }) => {
    const r = run(rw, (h) => {
      const o = h.open(link, { nofollow: true });
      o.fd_obj?.fd_close();
      return { code: o.ret === 0 ? "OK" : o.ret === 32 ? "ELOOP" : String(o.ret) };
    });
    expect(r.code).toBe("ELOOP");
  });
});

describe("symlinks: writing through links that leave the root", () => {
  test.each(escaping)("write $link", ({ link }) => expectRefused(run(rw, (h) => h.write(link, "PWNED")), "ENOTCAPABLE", "sandbox.escape"));
  test.each(escaping)("append $link", ({ link }) => expectRefused(run(rw, (h) => h.write(link, "PWNED", { create: true, append: true })), "ENOTCAPABLE"));
  test.each(escaping)("truncate-open $link", ({ link }) => expectRefused(run(rw, (h) => h.write(link, "", { trunc: true })), "ENOTCAPABLE"));
  test.each(escaping)("create under $link/", ({ link }) => expectRefused(run(rw, (h) => h.write(`${link}/new.txt`, "PWNED"))));
  test.each(escaping)("mkdir under $link/", ({ link }) => expectRefused(run(rw, (h) => h.mkdir(`${link}/newdir`))));
  test.each(escaping)("readdir $link", ({ link }) => expectRefused(run(rw, (h) => h.readdir(link))));
  test.each(escaping)("read $link/secret.txt", ({ link }) => expectRefused(run(rw, (h) => h.read(`${link}/secret.txt`))));
  test.each(escaping)("read $link/sub/f.txt", ({ link }) => expectRefused(run(rw, (h) => h.read(`${link}/sub/f.txt`))));
  test.each(escaping)("rename onto $link/x", ({ link }) => expectRefused(run(rw, (h) => h.rename("dir/nested.txt", `${link}/x`))));
  test.each(escaping)("create-excl $link is EEXIST (the link itself)", ({ link }) => {
    expectRefused(run(rw, (h) => h.write(link, "PWNED", { create: true, excl: true })), "EEXIST");
  });
  test.each(escaping)("unlink $link removes only the link", ({ link }) => {
    const h = new Harness(rw);
    const target = readlinkSync(join(allow, link));
    expect(h.unlink(link).code).toBe("OK");
    h.close();
    symlinkSync(target, join(allow, link));
    expect(readFileSync(join(outside, "secret.txt"), "utf8")).toBe(CANARY);
  });
});

describe("symlinks that stay inside the root work", () => {
  test("dangling in-root link: write creates its target inside the root", () => {
    const r = run(rw, (h) => h.write("dangling_in", "made"));
    expect(r.code).toBe("OK");
    expect(readFileSync(join(allow, "created_by_link.txt"), "utf8")).toBe("made");
    unlinkSync(join(allow, "created_by_link.txt"));
  });
  test("readdir through an in-root dir link", () => {
    expect(run(rw, (h) => h.readdir("link_in_dir"))).toMatchObject({ code: "OK", data: "chain3,chain_dir2,chain_in3,deep,escape_dotdot,escape_dotdot_file,nested.txt,up_link" });
  });
  test("absolute in-root link followed by `..` stays bounded by the root", () => {
    expect(run(rw, (h) => h.read("link_root_abs/dir/../file.txt"))).toMatchObject({ code: "OK", data: "inside" });
    expectRefused(run(rw, (h) => h.read("link_root_abs/../outside/secret.txt")), "ENOTCAPABLE");
  });
  test("`..` after an in-root dir link is physical (the link's target's parent)", () => {
    expect(run(rw, (h) => h.read("dir/deep/../up_link"))).toMatchObject({ code: "OK", data: "inside" });
    expect(run(rw, (h) => h.read("link_in_dir/deep/../nested.txt"))).toMatchObject({ code: "OK", data: "nested" });
  });
  test("trailing slash on a file is ENOTDIR", () => {
    expect(run(rw, (h) => h.stat("file.txt/")).code).toBe("ENOTDIR");
    expect(run(rw, (h) => h.read("link_in_file/")).code).toBe("ENOTDIR");
  });
  test("empty path is ENOENT", () => {
    expect(run(rw, (h) => h.read("")).code).toBe("ENOENT");
  });
});

// ---------------------------------------------------------------------------------------------
// Deny globs.
// ---------------------------------------------------------------------------------------------
const DENIED: [string, string][] = [
  [".env", "**/.env"],
  ["./.env", "**/.env"],
  ["dir/.env", "**/.env"],
  ["dir/../.env", "**/.env"],
  ["dir/deep/../../.env", "**/.env"],
  ["link_in_dir/.env", "**/.env"],
  [".env.local", "**/.env.*"],
  ["secrets", "secrets/**"],
  ["secrets/", "secrets/**"],
  ["secrets/key.pem", "secrets/**"],
  ["secrets/new.pem", "secrets/**"],
  ["private", "**/private"],
  ["private/inner/x.txt", "**/private"],
  ["dir/private", "**/private"],
];
/** Allowed link names whose targets are denied: every operation that follows the link is refused. */
const DENIED_VIA_LINK: [string, string][] = [
  ["link_to_env", "**/.env"],
  ["link_to_private", "**/private"],
  ["link_in_dir/.env", "**/.env"],
];
const FOLLOWING_OPS = ALL_OPS.filter(([op]) => ["read", "stat", "write", "append", "readdir", "utimes"].includes(op));
describe("deny globs hide files and directories", () => {
  test.each(cross(DENIED.map(([p]) => p), ALL_OPS.filter(([op]) => !["lstat", "readlink", "rename-to"].includes(op))))("$op $p", ({ p, fn }) => {
    const glob = DENIED.find(([q]) => q === p)![1];
    const r = run(rw, (h) => fn(h, p));
    expect(r.code).toBe("EACCES");
    expect(r.denials[0]?.rule).toBe(`filesystem.deny:${glob}`);
    expect(r.data ?? "").not.toMatch(/ENV=|PEM|PRIVATE/);
  });
  test.each(cross(DENIED_VIA_LINK.map(([p]) => p), FOLLOWING_OPS))("$op $p (a link to a denied name)", ({ p, fn }) => {
    const glob = DENIED_VIA_LINK.find(([q]) => q === p)![1];
    const r = run(rw, (h) => fn(h, p));
    expect(r.code).toBe("EACCES");
    expect(r.denials[0]?.rule).toBe(`filesystem.deny:${glob}`);
  });
  test("readdir leaves denied entries out", () => {
    const r = run(rw, (h) => h.readdir("."));
    expect(r.code).toBe("OK");
    const names = r.data!.split(",");
    for (const hidden of [".env", "secrets", "private"]) expect(names).not.toContain(hidden);
    expect(names).toContain("file.txt");
    expect(run(rw, (h) => h.readdir("dir")).data!.split(",")).not.toContain(".env");
  });
  test("rename cannot move a denied file into view, nor a file over a denied name", () => {
    expect(run(rw, (h) => h.rename(".env", "visible.txt")).code).toBe("EACCES");
    expect(run(rw, (h) => h.rename("dir/nested.txt", "dir/.env")).code).toBe("EACCES");
    expect(readFileSync(join(allow, ".env"), "utf8")).toBe("ENV=1");
  });
  test("nothing was written under denied names", () => {
    expect(existsSync(join(allow, ".env.local"))).toBe(false);
    expect(existsSync(join(allow, "secrets/new.pem"))).toBe(false);
  });
});

// ---------------------------------------------------------------------------------------------
// Read-only roots and nested roots.
// ---------------------------------------------------------------------------------------------
const RO_WRITES: [string, (h: Harness) => OpResult][] = [
  ["write existing", (h) => h.write("file.txt", "X")],
  ["create new", (h) => h.write("new.txt", "X")],
  ["create-excl", (h) => h.write("new.txt", "X", { create: true, excl: true })],
  ["append", (h) => h.write("file.txt", "X", { append: true })],
  ["truncate-open", (h) => h.write("file.txt", "", { trunc: true })],
  ["open rw without create", (h) => h.write("file.txt", "X", {})],
  ["mkdir", (h) => h.mkdir("newdir")],
  ["unlink", (h) => h.unlink("file.txt")],
  ["rmdir", (h) => h.rmdir("sub")],
  ["rename", (h) => h.rename("file.txt", "moved.txt")],
  ["rename into sub", (h) => h.rename("file.txt", "sub/moved.txt")],
  ["utimes", (h) => h.utimes("file.txt")],
  ["write via subdir", (h) => h.write("sub/s.txt", "X")],
  ["write via ./..", (h) => h.write("sub/../file.txt", "X")],
];
describe("read-only roots refuse every write", () => {
  test.each(RO_WRITES)("%s", (_name, fn) => {
    const r = run(roScope, fn);
    expect(r.code).toBe("EROFS");
    expect(r.denials[0]?.rule).toBe("filesystem.read_only");
  });
  test("reads work and nothing changed", () => {
    expect(run(roScope, (h) => h.read("file.txt"))).toMatchObject({ code: "OK", data: "readonly" });
    expect(run(roScope, (h) => h.readdir("."))).toMatchObject({ code: "OK", data: "file.txt,sub" });
    expect(readFileSync(join(ro, "file.txt"), "utf8")).toBe("readonly");
  });
  test("a read-only root nested in a read-write one stays read-only through the outer root", () => {
    const nested: SandboxScope = { preopens: [{ hostPath: allow, writable: true }, { hostPath: join(allow, "dir"), writable: false }], denyGlobs: [] };
    expect(run(nested, (h) => h.write("dir/nested.txt", "X")).code).toBe("EROFS");
    expect(run(nested, (h) => h.write("file.txt.tmp", "X")).code).toBe("OK");
    expect(run(nested, (h) => h.rename("file.txt.tmp", "dir/moved")).code).toBe("EROFS");
    rmSync(join(allow, "file.txt.tmp"));
  });
  test("a root that is not canonical is not opened at all", () => {
    const h = new Harness({ preopens: [{ hostPath: join(allow, "link_in_dir"), writable: true }], denyGlobs: [] });
    expect(h.roots).toHaveLength(0);
    expect(h.ctx.denials[0]?.rule).toBe("sandbox.escape");
    h.close();
  });
});

// ---------------------------------------------------------------------------------------------
// Normal operations the tools rely on.
// ---------------------------------------------------------------------------------------------
describe("normal operations inside the root", () => {
  test("create, append, read, rename over (keeps mode), unlink, mkdir, rmdir", () => {
    const h = new Harness(rw);
    expect(h.write("work.txt", "one", { create: true, excl: true }).code).toBe("OK");
    expect(h.write("work.txt", "two", { create: true, excl: true }).code).toBe("EEXIST");
    expect(h.write("work.txt", "+more", { create: true, append: true }).code).toBe("OK");
    expect(h.read("work.txt")).toEqual({ code: "OK", data: "one+more" });
    chmodSync(join(allow, "work.txt"), 0o755);
    expect(h.write(".work.txt.warden-1.tmp", "replaced").code).toBe("OK");
    expect(h.rename(".work.txt.warden-1.tmp", "work.txt").code).toBe("OK");
    expect(readFileSync(join(allow, "work.txt"), "utf8")).toBe("replaced");
    expect(statSync(join(allow, "work.txt")).mode & 0o777).toBe(0o755);
    expect(h.mkdir("newdir").code).toBe("OK");
    expect(h.mkdir("newdir").code).toBe("EEXIST");
    expect(h.rename("work.txt", "newdir/work.txt").code).toBe("OK");
    expect(h.rmdir("newdir").code).toBe("ENOTEMPTY");
    expect(h.unlink("newdir").code).toBe("EISDIR");
    expect(h.unlink("newdir/work.txt").code).toBe("OK");
    expect(h.rmdir("newdir").code).toBe("OK");
    expect(h.close()).toBe(0);
  });
  test("set-id bits are not copied by rename-over", () => {
    writeFileSync(join(allow, "suid.txt"), "x");
    chmodSync(join(allow, "suid.txt"), 0o4755);
    const h = new Harness(rw);
    expect(h.write("suid.tmp", "y").code).toBe("OK");
    expect(h.rename("suid.tmp", "suid.txt").code).toBe("OK");
    expect(statSync(join(allow, "suid.txt")).mode & 0o7777).toBe(0o755);
    h.close();
    rmSync(join(allow, "suid.txt"));
  });
  test("rename across roots is refused", () => {
    const two: SandboxScope = { preopens: [{ hostPath: allow, writable: true }, { hostPath: realpathSync(ro), writable: true }], denyGlobs: [] };
    const h = new Harness(two);
    expect(h.rename("file.txt", "file2.txt", h.roots[0], h.roots[1]).code).toBe("EXDEV");
    expect(h.ctx.denials[0]?.rule).toBe("sandbox.cross_root");
    h.close();
  });
  test("directories opened by the module resolve `..` back through the root", () => {
    const h = new Harness(rw);
    const deep = h.open("dir/deep", { dir: true });
    expect(deep.ret).toBe(0);
    const at = deep.fd_obj as unknown as typeof h.root;
    expect(h.read("../nested.txt", at)).toEqual({ code: "OK", data: "nested" });
    expect(h.read("../../file.txt", at)).toEqual({ code: "OK", data: "inside" });
    expect(h.read("../../../outside/secret.txt", at).code).toBe("ENOTCAPABLE");
    expect(h.read("../../../allow/file.txt", at).code).toBe("ENOTCAPABLE");
    deep.fd_obj!.fd_close();
    expect(h.close()).toBe(0);
  });
  test("a module closing its preopen does not free the root descriptor for reuse", () => {
    const h = new Harness(rw);
    const deep = h.open("dir/deep", { dir: true });
    const at = deep.fd_obj as unknown as typeof h.root;
    const rootFd = h.root.fd;
    h.root.fd_close();
    // The host descriptor is still the root (not a number the kernel may hand out again)...
    expect(h.ctx.hostPathOf(rootFd)).toBe(allow);
    // ...so walks that go back through the root still work and stay confined.
    expect(h.read("../../file.txt", at)).toEqual({ code: "OK", data: "inside" });
    expect(h.read("../../link_root_abs/dir/nested.txt", at)).toEqual({ code: "OK", data: "nested" });
    expect(h.read("../../../outside/secret.txt", at).code).toBe("ENOTCAPABLE");
    deep.fd_obj!.fd_close();
    h.ctx.closeAll();
    expect(h.ctx.openCount).toBe(0);
  });
  test("mkdir of a nested path needs its parent", () => {
    expect(run(rw, (h) => h.mkdir("nope/child")).code).toBe("ENOENT");
    mkdirSync(join(allow, "tmpd"));
    expect(run(rw, (h) => h.mkdir("tmpd/child")).code).toBe("OK");
    rmSync(join(allow, "tmpd"), { recursive: true });
  });
});
