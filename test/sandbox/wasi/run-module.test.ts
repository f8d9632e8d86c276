import { execFileSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { localFdTracker } from "../../../src/sandbox/host/fd-tracker.js";
import type { SandboxScope } from "../../../src/sandbox/types.js";
import { compileSandboxModule, type SandboxModule } from "../../../src/sandbox/wasi/memory-import.js";
import { runModule } from "../../../src/sandbox/wasi/run-module.js";
import { buildEscapeTree, CANARY } from "../escape-tree.js";
import { openFdCount, probeWasmDir, tempTree } from "../helpers.js";

/*
 * Real WASI code (test/fixtures/wasm/probe.c, built with clang) run in-process by runModule:
 * every WASI call the runtime implements, the escapes again through wasi-libc, and the run's
 * own limits (stdout cap, descriptors closed after every run).
 */

const t = tempTree("warden-run-");
const base = t.dir;
const { allow, outside, ro } = buildEscapeTree(base);
const scope: SandboxScope = { preopens: [{ hostPath: allow, writable: true }, { hostPath: ro, writable: false }], denyGlobs: ["**/.env", "secrets/**"] };
let module: SandboxModule;
let server: Server;

beforeAll(async () => {
  module = await compileSandboxModule(readFileSync(join(probeWasmDir(), "probe.wasm")));
  mkdirSync(join(allow, "ops"));
  writeFileSync(join(allow, "ops/f.txt"), "hello world");
  execFileSync("mkfifo", [join(allow, "fifo")]);
  execFileSync("mknod", [join(allow, "null-dev"), "c", "1", "3"]);
  await new Promise<void>((resolve) => {
    server = createServer().listen(join(allow, "sock"), resolve);
  });
});
afterAll(async () => {
  await new Promise((r) => server.close(r));
  t.cleanup();
});

function probe(args: string[], opts: { stdin?: string; maxStdoutBytes?: number; scope?: SandboxScope } = {}) {
  const r = runModule(
    module,
    { name: "probe", args, scope: opts.scope ?? scope, maxStdoutBytes: opts.maxStdoutBytes ?? 1 << 20, ...(opts.stdin ? { stdin: new TextEncoder().encode(opts.stdin) } : {}) },
    localFdTracker(),
  );
  return { ...r, out: Buffer.from(r.stdout).toString("utf8").trimEnd(), rules: r.denials.map((d) => d.rule) };
}

const A = (p: string) => join(allow, p);

describe("every WASI call, through wasi-libc", () => {
  // Run in order: each row may depend on the previous ones.
  const rows: [string[], string | RegExp][] = [
    [["read", A("ops/f.txt")], "ok hello world"],
    [["fstat", A("ops/f.txt")], /^ok type=f size=11 /],
    [["stat", A("ops")], /^ok type=d /],
    [["lstat", A("link_in_file")], /^ok type=l /],
    [["stat", A("link_in_file")], /^ok type=f size=6 /],
    [["readdir", A("ops")], "ok .:3 ..:3 f.txt:4"],
    [["raw-readdir", "3", "ops"], "ok . .. f.txt"],
    [["write", A("ops/w.txt"), "abc"], "ok wrote=3"],
    [["append", A("ops/w.txt"), "def"], "ok wrote=3"],
    [["read", A("ops/w.txt")], "ok abcdef"],
    [["create", A("ops/w.txt"), "x"], "ERR EEXIST"],
    [["create", A("ops/c.txt"), "x"], "ok wrote=1"],
    [["mkdir", A("ops/sub")], "ok"],
    [["mkdir", A("ops/sub")], "ERR EEXIST"],
    [["rename", A("ops/c.txt"), A("ops/sub/c.txt")], "ok"],
    [["rmdir", A("ops/sub")], "ERR ENOTEMPTY"],
    [["unlink", A("ops/sub/c.txt")], "ok"],
    [["rmdir", A("ops/sub")], "ok"],
    [["unlink", A("ops")], "ERR EISDIR"],
    [["truncate", A("ops/w.txt"), "2"], "ok"],
    [["read", A("ops/w.txt")], "ok ab"],
    [["ftruncate", A("ops/w.txt"), "1"], "ok"],
    [["read", A("ops/w.txt")], "ok a"],
    [["seek", A("ops/f.txt"), "6"], "ok worl end=11"],
    [["pread", A("ops/f.txt"), "6", "5"], "ok world"],
    [["pwrite", A("ops/f.txt"), "0", "J"], "ok"],
    [["read", A("ops/f.txt")], "ok Jello world"],
    [["utimes", A("ops/f.txt")], "ok"],
    [["raw-utimes", "3", "ops/f.txt"], "ok"],
    [["readlink", A("link_in_file")], "ok file.txt"],
    [["readlink", A("ops/f.txt")], "ERR EINVAL"],
    [["opendir-open", A("dir/deep"), "../nested.txt"], "ok nested"],
    [["opendir-open", A("dir"), "../../outside/secret.txt"], "ERR ENOTCAPABLE"],
    [["stdin"], "ok from-stdin"],
    [["args", "a b", "", "c"], "ok [a b] [] [c]"],
    [["args", "ünïcödé ☃☃☃☃☃☃☃☃", ".ß", "日本語"], "ok [ünïcödé ☃☃☃☃☃☃☃☃] [.ß] [日本語]"],
    [["symlink", "f.txt", A("ops/l")], "ERR EPERM"],
    [["link", A("ops/f.txt"), A("ops/l2")], "ERR EPERM"],
    [["raw-symlink", "3", "/etc/passwd", "ops/l3"], "ERR EPERM"],
    [["raw-link", "3", "ops/f.txt", "ops/l4"], "ERR EPERM"],
    [["raw-close-read", "99"], "ERR EBADF"],
  ];
  test.each(rows)("%j", (args, expected) => {
    const r = probe(args, { stdin: "from-stdin" });
    if (typeof expected === "string") expect(r.out).toBe(expected);
    else expect(r.out).toMatch(expected);
    expect(r.exitCode).toBe(r.out.startsWith("ok") ? 0 : 1);
  });
  test("links were not created", () => {
    expect(readdirSync(A("ops")).sort()).toEqual(["f.txt", "w.txt"]);
  });
});

describe("escapes through real WASI code", () => {
  const escapes: string[][] = [
    ["read", A("link_out_rel")],
    ["read", A("link_out_abs")],
    ["read", A("link_out_dir_rel/secret.txt")],
    ["read", A("link_out_dir_abs/sub/f.txt")],
    ["read", A("chain1")],
    ["read", A("link_sibling")],
    ["read", A("link_proc_root")],
    ["read", A("dir/escape_dotdot_file")],
    ["readdir", A("link_out_dir_abs")],
    ["readdir", A("dir/escape_dotdot")],
    ["stat", A("link_out_rel")],
    ["write", A("dangling_out"), "PWNED"],
    ["write", A("dangling_out_abs"), "PWNED"],
    ["write", A("link_out_abs"), "PWNED"],
    ["append", A("link_out_rel"), "PWNED"],
    ["write", A("link_out_dir_rel/new.txt"), "PWNED"],
    ["mkdir", A("link_out_dir_abs/newdir")],
    ["rename", A("file.txt"), A("link_out_dir_rel/stolen.txt")],
    ["truncate", A("link_out_abs"), "0"],
    ["utimes", A("link_out_abs")],
    ["raw-open", "3", "../outside/secret.txt"],
    ["raw-open", "3", join(outside, "secret.txt")],
    ["raw-open", "3", "dir/../../outside/secret.txt"],
    ["raw-open", "3", "link_proc_cwd/package.json"],
    ["raw-open-write", "3", "link_out_abs"],
    ["raw-open-create", "3", "dangling_out"],
    ["raw-open-create", "3", "../outside/created.txt"],
    ["raw-open-dir", "3", "link_out_dir_rel"],
    ["raw-stat", "3", "../outside"],
    ["raw-mkdir", "3", "../outside/x"],
    ["raw-unlink", "3", "../outside/secret.txt"],
    ["raw-rmdir", "3", "../outside/sub"],
    ["raw-readlink", "3", "../outside/x"],
    ["raw-rename", "3", "file.txt", "../outside/stolen.txt"],
    ["raw-rename", "3", "link_out_dir_rel/secret.txt", "stolen.txt"],
    ["raw-readdir", "3", "link_out_dir_abs"],
    ["raw-open", "3", "file.txt\\0/../../outside/secret.txt"],
    ["read", "/etc/passwd"],
    ["read", join(base, "allow_x/file.txt")],
    ["read", join(base, "allow'/file.txt")],
    ["read", join(base, "allow /file.txt")],
    ["read", `${allow}/../outside/secret.txt`],
    ["read", "/proc/self/root" + join(outside, "secret.txt")],
    ["read", `file://${outside}/secret.txt`],
  ];
  test.each(escapes)("%s %s", (...args) => {
    const r = probe(args);
    expect(r.out).not.toContain(CANARY);
    expect(r.out).toMatch(/^ERR /);
    expect(r.exitCode).toBe(1);
  });
  test("nothing was created or changed outside", () => {
    expect(readdirSync(outside).sort()).toEqual(["secret.txt", "sub"]);
    expect(readFileSync(join(outside, "secret.txt"), "utf8")).toBe(CANARY);
    expect(existsSync(join(base, "etc"))).toBe(false);
  });
  test("a refusal names its rule", () => {
    expect(probe(["read", A("link_out_rel")]).rules).toEqual(["sandbox.escape"]);
    expect(probe(["read", A(".env")]).rules).toEqual(["filesystem.deny:**/.env"]);
    expect(probe(["read", A("secrets/key.pem")]).rules).toEqual(["filesystem.deny:secrets/**"]);
    expect(probe(["write", join(ro, "file.txt"), "x"]).rules).toEqual(["filesystem.read_only"]);
    expect(probe(["read", A("fifo")]).rules).toEqual(["sandbox.file_type"]);
    expect(probe(["symlink", "x", A("l")]).rules).toEqual(["sandbox.link"]);
  });
  test("a denial never carries the denied content", () => {
    for (const args of [["read", A(".env")], ["read", A("link_out_rel")], ["readdir", A("secrets")]]) {
      expect(JSON.stringify(probe(args))).not.toMatch(/ENV=1|PEM|CANARY/);
    }
  });
});

describe("special files", () => {
  test("a FIFO is refused without hanging (read and write)", () => {
    const started = Date.now();
    const r = probe(["read", A("fifo")]);
    expect(r.out).toBe("ERR EACCES");
    expect(probe(["write", A("fifo"), "x"]).out).toMatch(/^ERR (EACCES|ENXIO)$/);
    expect(probe(["raw-open", "3", "fifo"]).out).toBe("ERR EACCES");
    expect(Date.now() - started).toBeLessThan(2000);
  });
  test("a character device is refused", () => {
    expect(probe(["read", A("null-dev")])).toMatchObject({ out: "ERR EACCES", rules: ["sandbox.file_type"] });
    expect(probe(["write", A("null-dev"), "x"]).out).toBe("ERR EACCES");
  });
  test("a socket is refused", () => {
    expect(probe(["read", A("sock")])).toMatchObject({ out: "ERR EACCES", rules: ["sandbox.file_type"] });
  });
  test("special files can still be listed and stat'ed (type only, no content)", () => {
    expect(probe(["lstat", A("fifo")]).out).toMatch(/^ok type=o /);
    expect(probe(["readdir", A(".")]).out).toContain(" fifo:");
  });
});

describe("directory listings", () => {
  test("a listing larger than wasi-libc's buffer, with long and non-ASCII names, comes back whole", () => {
    mkdirSync(A("many"));
    const names: string[] = [];
    for (let i = 0; i < 300; i++) {
      // 20 to 255 bytes: entries straddle the ends of the module's 4 KiB readdir buffer in every way
      const name = `${String(i).padStart(3, "0")}-${"é".repeat(i % 3)}${"n".repeat(16 + ((i * 37) % 230))}`.slice(0, 250);
      names.push(name);
      writeFileSync(A(`many/${name}`), "");
    }
    mkdirSync(A("many/sub"));
    const r = probe(["readdir", A("many")]);
    expect(r.out.startsWith("ok ")).toBe(true);
    const got = r.out.slice(3).split(" ").map((e) => e.slice(0, e.lastIndexOf(":")));
    expect(got.sort()).toEqual([".", "..", "sub", ...names].sort());
    expect(r.out).toContain(" sub:3");
    expect(r.out).toContain(` ${names[7]}:4`);
  });
});

describe("run limits", () => {
  test("stdout beyond maxStdoutBytes stops the run with EFBIG", () => {
    const r = probe(["spam", "100000"], { maxStdoutBytes: 1000 });
    expect(r.exitCode).toBe(1);
    expect(r.stdout.byteLength).toBe(1000);
    expect(r.stdoutTruncated).toBe(true);
    expect(r.stderr.trim().split("\n").pop()).toMatch(/^EFBIG: /);
  });
  test("stdout up to the cap is kept whole", () => {
    const r = probe(["spam", "5000"], { maxStdoutBytes: 5000 });
    expect(r.exitCode).toBe(0);
    expect(r.stdout.byteLength).toBe(5000);
  });
  test("exit codes and stderr pass through", () => {
    const r = probe(["stderr", "ENOENT: no such file", "3"]);
    expect(r.exitCode).toBe(3);
    expect(r.stderr).toBe("ENOENT: no such file\n");
  });
  test("descriptors: none left open after runs that leak guest descriptors (2000 runs)", () => {
    probe(["cat-many", "3", A("file.txt"), "leak"]);
    const before = openFdCount();
    for (let i = 0; i < 2000; i++) {
      const r = probe(i % 2 ? ["cat-many", "5", A("dir/nested.txt"), "leak"] : ["opendir-open", A("dir"), "deep/d.txt"]);
      expect(r.exitCode).toBe(0);
    }
    expect(openFdCount()).toBe(before);
  });
  test("a run cannot hold more than its descriptor budget", () => {
    const r = probe(["cat-many", "1100", A("file.txt"), "leak"]);
    expect(r.out).toBe("ERR EMFILE");
  });
  test("a root that does not exist is simply absent", () => {
    const r = probe(["read", join(base, "missing/file.txt")], { scope: { preopens: [{ hostPath: join(base, "missing"), writable: true }], denyGlobs: [] } });
    expect(r.out).toBe("ERR ENOTCAPABLE");
  });
  test("file modes: rename over a file keeps its permission bits", () => {
    writeFileSync(A("tool.sh"), "#!/bin/sh\n");
    chmodSync(A("tool.sh"), 0o750);
    expect(probe(["write", A(".tool.sh.tmp"), "#!/bin/sh\necho hi\n"]).out).toBe("ok wrote=18");
    expect(probe(["rename", A(".tool.sh.tmp"), A("tool.sh")]).out).toBe("ok");
    expect(statSync(A("tool.sh")).mode & 0o777).toBe(0o750);
    expect(readFileSync(A("tool.sh"), "utf8")).toContain("echo hi");
  });
});
