import { randomBytes } from "node:crypto";
import { execFileSync, spawn } from "node:child_process";
import { existsSync, lstatSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, symlinkSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createRootIndex, startScan, type RootIndex } from "../../../src/exec/native/deny-index.js";
import { createDenyMaskCache, DENY_SCAN_RULE, mergeMasks, type DenyMaskCache, type DenyMasks } from "../../../src/exec/native/deny-masks.js";
import { boundMasks, MAX_MASK_MOUNTS } from "../../../src/exec/native/mask-bound.js";
import { createNativeBackend } from "../../../src/exec/native/index.js";
import { parsePolicy } from "../../../src/config/load-policy.js";
import { ExecRefusal } from "../../../src/exec/errors.js";
import type { ExecBackend } from "../../../src/exec/types.js";
import { compileDenyRules } from "../../../src/policy/path-rules.js";
import { DEFAULT_DENY_GLOBS } from "../../../src/policy/schema/filesystem.js";
import { bridgeWith, cleanup, script, tempDir, testPolicy } from "../support.js";

/**
 * filesystem.deny holds for commands too: what the file tools hide inside a root (default
 * `**\/.env`, keys, `.ssh`) is hidden from any program bubblewrap runs, whatever it uses to look.
 */

const canary = `CANARY-${randomBytes(8).toString("hex")}`;
const SECRETS = [".env", "sub/.env.local", "certs/server.pem", ".ssh/id_ed25519", "node_modules/pkg/.env", ".aws/credentials", "deep/a/b/c.key"];

/** A real tree: the secrets above (each holding the canary), normal files, links and a FIFO. */
function makeTree(root: string): void {
  for (const rel of SECRETS) {
    mkdirSync(join(root, rel, ".."), { recursive: true });
    writeFileSync(join(root, rel), `${canary} ${rel}\n`);
  }
  writeFileSync(join(root, "ok.txt"), "plain data\n");
  writeFileSync(join(root, "node_modules/pkg/index.js"), "module.exports = 1;\n");
  writeFileSync(join(root, "certs/README"), "certs live here\n");
  symlinkSync(".env", join(root, "link")); // an innocent name for a secret: the target is masked
  symlinkSync("ok.txt", join(root, "alias.pem")); // a matching name for an innocent file: left alone
  symlinkSync("/nonexistent/x", join(root, "dangling.pem")); // must not break the sandbox
  execFileSync("mkfifo", [join(root, "pipe.pem")]);
}

/** One complete scan with a fresh (or given) index; results relative to the root. */
async function scanOnce(root: string, opts: { index?: RootIndex; maxDirs?: number; racyMs?: number } = {}) {
  const scan = startScan(opts.index ?? createRootIndex(), root, compileDenyRules(DEFAULT_DENY_GLOBS), {
    maxDirs: opts.maxDirs ?? 100_000,
    maxMatchesPerDir: MAX_MASK_MOUNTS,
    racyMs: opts.racyMs ?? 1000,
  });
  await scan.done;
  const f = scan.found(Date.now());
  const sort = (l: string[]) => [...l].sort();
  return { files: sort(f.files), dirs: sort(f.dirs), symlinks: sort(f.symlinks), hidden: sort(f.hidden), stats: scan.stats, complete: scan.complete };
}

/** A fresh cache with the default deny globs (a tree made just now counts as settled: racyMs -1). */
function masksOf(cache: ReturnType<typeof createDenyMaskCache>, root: string, bounds: { maxDirs?: number; budgetMs?: number } = {}) {
  return cache.masksFor([{ path: root }], DEFAULT_DENY_GLOBS, { maxDirs: 100_000, budgetMs: 10_000, ...bounds });
}

const rel = (root: string, l: string[] = []) => l.map((p) => (p === root ? "" : p.slice(root.length + 1))).sort();

describe("deny scan (real tree, pure matcher of the WASI sandbox)", () => {
  let root: string;
  beforeAll(() => {
    root = tempDir("deny-scan");
    makeTree(root);
    writeFileSync(join(root, ".ssh", "known_hosts"), "x\n");
  });
  afterAll(() => cleanup(root));

  it("finds every match, masks a matching directory whole, pins the directories above masks", async () => {
    const m = await masksOf(createDenyMaskCache({ racyMs: -1 }), root);
    expect(rel(root, m.files)).toEqual([".aws/credentials", ".env", "certs/server.pem", "deep/a/b/c.key", "node_modules/pkg/.env", "pipe.pem", "sub/.env.local"]);
    expect(rel(root, m.dirs)).toEqual([".ssh"]); // not .ssh/id_ed25519, .ssh/known_hosts: not entered
    expect(rel(root, m.symlinks)).toEqual(["alias.pem", "dangling.pem"]);
    expect(rel(root, m.pins)).toEqual([".aws", "certs", "deep", "deep/a", "deep/a/b", "node_modules", "node_modules/pkg", "sub"]);
    expect(m.unscanned).toEqual([]);
  });

  it("refuses, with the rule, a root it cannot read rather than skip it", async () => {
    const err = await masksOf(createDenyMaskCache(), join(root, "missing-root")).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ExecRefusal);
    expect((err as ExecRefusal).rule).toBe(DENY_SCAN_RULE);
    expect(await masksOf(createDenyMaskCache(), join(root, "ok.txt")).catch((e: unknown) => e)).toBeInstanceOf(ExecRefusal);
  });

  it("rescans reading only the directories whose ctime changed, and sees every change", async () => {
    const index = createRootIndex();
    const first = await scanOnce(root, { index, racyMs: -1 });
    const again = await scanOnce(root, { index, racyMs: -1 });
    expect(again.stats.read).toBe(0); // nothing changed: an lstat or fstat per directory, no read
    expect(again.files).toEqual(first.files);
    // ctime is coarse (a clock tick): let one pass, or a change in the scan's own tick looks like none
    // (the racy window, disabled here with -1, covers that case in real use).
    await new Promise((r) => setTimeout(r, 30));
    writeFileSync(join(root, "deep", "a", ".env.new"), canary); // deep in the tree
    renameSync(join(root, "sub"), join(root, "sub-renamed"));
    const third = await scanOnce(root, { index, racyMs: -1 });
    expect(third.stats.read).toBe(3); // the root (rename), deep/a (new file), sub-renamed (new path)
    expect(third.files).toContain("deep/a/.env.new");
    expect(third.files).toContain("sub-renamed/.env.local");
    expect(third.files).not.toContain("sub/.env.local");
    // A forged mtime does not hide a change: the index follows the ctime.
    const before = lstatSync(join(root, "certs"));
    await new Promise((r) => setTimeout(r, 30));
    writeFileSync(join(root, "certs", "new.key"), canary);
    utimesSync(join(root, "certs"), before.atime, before.mtime);
    const fourth = await scanOnce(root, { index, racyMs: -1 });
    expect(fourth.files).toContain("certs/new.key");
    renameSync(join(root, "sub-renamed"), join(root, "sub"));
  });

  it("does not trust a directory changed just before it was read (coarse timestamps)", async () => {
    const index = createRootIndex();
    // Everything changed less than a minute ago: as if in the same clock tick, whatever the load.
    const first = await scanOnce(root, { index, racyMs: 60_000 });
    const again = await scanOnce(root, { index, racyMs: 60_000 });
    expect(again.stats.read).toBe(first.stats.read);
    const settled = await scanOnce(root, { index, racyMs: -1 });
    expect(settled.stats.read).toBe(first.stats.read); // read once more, then trusted
    expect((await scanOnce(root, { index, racyMs: -1 })).stats.read).toBe(0);
  });

  it("cache: a check in flight is shared, but not across the end of a command", async () => {
    const cache = createDenyMaskCache();
    const [a, b] = await Promise.all([masksOf(cache, root), masksOf(cache, root)]);
    expect(a.files).toEqual(b.files);
    const pending = masksOf(cache, root);
    writeFileSync(join(root, ".env.late"), canary);
    cache.invalidate();
    const after = await masksOf(cache, root);
    await pending;
    expect(after.files).toContain(join(root, ".env.late"));
  });

  it("merge: union of nested roots, nothing inside a masked or unchecked directory", () => {
    const m = mergeMasks([
      { files: ["/p/.env", "/p/.ssh/x/.env"], dirs: ["/p/.ssh"], pins: ["/p/.ssh/x"], symlinks: [] },
      { files: ["/p/.env", "/p/sub/.env", "/p/big/q/.env"], dirs: ["/p/big", "/p/big/q/r"], pins: ["/p/sub", "/p/big/q"], symlinks: ["/p/l"], unscanned: ["/p/big"] },
      { files: ["/p/a b/.env"], dirs: [], pins: ["/p/a b"], symlinks: [], unscanned: ["/p/a/c"] },
    ]);
    expect(m).toEqual({
      files: ["/p/.env", "/p/sub/.env", "/p/a b/.env"],
      dirs: ["/p/.ssh", "/p/a/c", "/p/big"],
      pins: ["/p/sub", "/p/a b"],
      symlinks: ["/p/l"],
      unscanned: ["/p/a/c", "/p/big"],
    });
  });
});

describe("deny scan without a lock-out: time budget, index bound, hidden what is not checked", () => {
  let root: string;
  beforeAll(() => {
    root = tempDir("deny-budget");
    mkdirSync(join(root, "app", "src"), { recursive: true });
    writeFileSync(join(root, "app", ".env"), canary);
    writeFileSync(join(root, "app", "src", "main.js"), "1\n");
    // 20 000 directories: far more than a few milliseconds can check.
    execFileSync("python3", ["-c", `import os\nfor i in range(20000): os.makedirs("${root}/flood/d%d" % i)`]);
  });
  afterAll(() => cleanup(root));

  it("a cold index and no time: the root is hidden whole, never refused", async () => {
    const cache = createDenyMaskCache({ racyMs: -1 });
    const m = await masksOf(cache, root, { budgetMs: 0 });
    expect(m.unscanned).toEqual([root]);
    expect(m.dirs).toEqual([root]); // mounted like any directory mask
    await cache.settled();
    const next = await masksOf(cache, root, { budgetMs: 0 });
    expect(next.unscanned).toEqual([]); // checked in the background seconds ago: trusted
    expect(rel(root, next.files)).toEqual(["app/.env"]);
    cache.close();
  });

  it("a budget too short for the flood: the small subtrees are checked first, the flood is hidden", async () => {
    const cache = createDenyMaskCache({ racyMs: -1, trustMs: 0 }); // rely on nothing older than this check
    await masksOf(cache, root);
    await cache.settled();
    const m = await masksOf(cache, root, { budgetMs: 20 });
    expect(rel(root, m.unscanned)).toEqual(["flood"]); // its 20 000 children collapsed to one mount
    expect(rel(root, m.files)).toEqual(["app/.env"]); // what matters is still masked
    expect(rel(root, m.pins)).toEqual(["app"]);
    await cache.settled();
    cache.close();
  });

  it("a secret that appears in a directory not checked again in time is hidden with it", async () => {
    const cache = createDenyMaskCache({ racyMs: -1, trustMs: 0 });
    await masksOf(cache, root);
    await cache.settled();
    await new Promise((r) => setTimeout(r, 30));
    writeFileSync(join(root, "flood", "d19999", ".env"), canary);
    const m = await masksOf(cache, root, { budgetMs: 20 });
    expect(m.files).not.toContain(join(root, "flood", "d19999", ".env"));
    expect(rel(root, m.unscanned)).toEqual(["flood"]);
    await cache.settled();
    const later = await masksOf(cache, root); // enough time: checked, masked one by one again
    expect(later.files).toContain(join(root, "flood", "d19999", ".env"));
    expect(later.unscanned).toEqual([]);
    rmSync(join(root, "flood", "d19999", ".env"));
    cache.close();
  });

  it("a check stopped early (a newer one took over) still hides what it did not reach", async () => {
    const index = createRootIndex();
    await scanOnce(root, { index, racyMs: -1 });
    // Its first slice (at most 8 ms) runs before startScan returns: the small subtree, then part of the flood.
    const scan = startScan(index, root, compileDenyRules(DEFAULT_DENY_GLOBS), { maxDirs: 100_000, maxMatchesPerDir: MAX_MASK_MOUNTS, racyMs: -1 });
    scan.stop();
    await scan.done;
    expect(scan.complete).toBe(false);
    expect(scan.stats.checked).toBeLessThan(20_000);
    const f = scan.found(Date.now() + 1); // nothing checked before trusted
    expect(f.hidden).toEqual(["flood"]); // its unchecked children, collapsed
    expect(f.files).toEqual(["app/.env"]);
  });

  it("more directories than the index bound: the rest is hidden, nothing refused", async () => {
    const r = await scanOnce(root, { maxDirs: 1000, racyMs: -1 });
    expect(r.complete).toBe(true);
    expect(r.stats.checked).toBe(4); // flood lists more subdirectories than the bound: hidden whole, not walked
    expect(r.hidden).toEqual(["flood"]);
    const cache = createDenyMaskCache({ racyMs: -1 });
    const m = await masksOf(cache, root, { maxDirs: 1000 });
    expect(rel(root, m.unscanned)).toEqual(["flood"]);
    expect(rel(root, m.files)).toEqual(["app/.env"]); // small subtrees first: the project is checked
    cache.close();
  });

  it("a directory with more matches than mounts allows is hidden whole", async () => {
    const many = join(root, "keys");
    mkdirSync(many);
    for (let i = 0; i < MAX_MASK_MOUNTS + 1; i++) writeFileSync(join(many, `k${i}.pem`), canary);
    try {
      const r = await scanOnce(root, { racyMs: -1 });
      expect(r.hidden).toEqual(["keys"]);
      expect(r.files).toEqual(["app/.env"]);
    } finally {
      rmSync(many, { recursive: true });
    }
  });

  it("unreadable or too deep directories are hidden, not refused", async () => {
    let deep = join(root, "deep");
    for (let i = 0; i < 130; i++) deep = join(deep, "d");
    mkdirSync(deep, { recursive: true });
    writeFileSync(join(deep, ".env"), canary);
    try {
      const r = await scanOnce(root, { racyMs: -1 });
      expect(r.hidden).toHaveLength(1);
      expect(r.hidden[0]!.split("/")).toHaveLength(129); // from depth 129 below the root on: hidden
      expect(r.files).toEqual(["app/.env"]);
    } finally {
      rmSync(join(root, "deep"), { recursive: true });
    }
  });
});

describe("deny scan under a symlink swap race stays inside the root", () => {
  it("never reports a path read through a directory swapped for a symlink", async () => {
    const base = tempDir("deny-swap");
    const root = join(base, "root");
    // Inside: x/y/ with an innocent file. Outside: y/ with a key of another name.
    mkdirSync(join(root, "x", "y", "z"), { recursive: true });
    writeFileSync(join(root, "x", "y", "inside.txt"), "ok");
    mkdirSync(join(base, "out", "y", "z"), { recursive: true });
    writeFileSync(join(base, "out", "y", "outside.pem"), canary);
    writeFileSync(join(base, "out", "y", "z", "outside.key"), canary);
    symlinkSync(join(base, "out"), join(root, "link"));
    // Exchanges x and the symlink as fast as it can (renameat2 RENAME_EXCHANGE), for a while.
    const swapper = spawn("python3", [
      "-c",
      `import ctypes, os, time\nlibc = ctypes.CDLL(None, use_errno=True)\nend = time.time() + 6\nwhile time.time() < end:\n  libc.renameat2(-100, b"${root}/x", -100, b"${root}/link", 2)`,
    ]);
    try {
      const index = createRootIndex();
      let scans = 0;
      const deadline = Date.now() + 4000;
      while (Date.now() < deadline) {
        const r = await scanOnce(root, { index, racyMs: -1 });
        scans++;
        const all = [...r.files, ...r.dirs, ...r.symlinks, ...r.hidden].join(" ");
        expect(all).not.toContain("outside");
      }
      expect(scans).toBeGreaterThan(20);
    } finally {
      swapper.kill("SIGKILL");
      cleanup(base);
    }
  });
});

describe("boundMasks: at most MAX_MASK_MOUNTS mounts, the largest subtrees hidden first", () => {
  const files = (dir: string, n: number, name = ".env") => Array.from({ length: n }, (_, i) => `${dir}/s${i}/${name}`);
  const count = (m: DenyMasks) => m.files.length + m.dirs.length + m.pins.length;

  it("keeps every mask and computes the pins when they fit", () => {
    const m = boundMasks({ files: ["/r/a/b/.env", "/r/.env"], dirs: ["/r/c/.ssh"], pins: [], symlinks: [] }, ["/r"], 10);
    expect([...m.files].sort()).toEqual(["/r/.env", "/r/a/b/.env"]);
    expect(m.dirs).toEqual(["/r/c/.ssh"]);
    expect([...m.pins].sort()).toEqual(["/r/a", "/r/a/b", "/r/c"]);
    expect(m.unscanned).toEqual([]);
  });

  it("hides the biggest subtree, keeps the small ones exact", () => {
    const m = boundMasks({ files: [...files("/r/flood", 500), "/r/app/.env", "/r/lib/x/.env"], dirs: [], pins: [], symlinks: [] }, ["/r"], 20);
    expect(count(m)).toBeLessThanOrEqual(20);
    expect(m.files).toEqual(expect.arrayContaining(["/r/app/.env", "/r/lib/x/.env"]));
    expect(m.unscanned).toEqual(["/r/flood"]);
    expect(m.dirs).toContain("/r/flood");
  });

  it("shrinks inside a subtree before hiding all of it", () => {
    const m = boundMasks({ files: [...files("/r/a/big", 100), "/r/a/small/.env"], dirs: [], pins: [], symlinks: [] }, ["/r"], 10);
    expect(count(m)).toBeLessThanOrEqual(10);
    expect(m.unscanned).toEqual(["/r/a/big"]);
    expect(m.files).toEqual(["/r/a/small/.env"]);
  });

  it("hides a root only when its own entries need more mounts than allowed", () => {
    const m = boundMasks({ files: Array.from({ length: 11 }, (_, i) => `/r/${i}.env`), dirs: [], pins: [], symlinks: [] }, ["/r", "/q"], 10);
    expect(m.unscanned).toEqual(["/r"]);
    expect(m.files).toEqual([]);
  });

  it("nested roots cost no pin; masks outside every root are dropped", () => {
    const m = boundMasks({ files: ["/r/n/a/.env", "/elsewhere/.env"], dirs: [], pins: [], symlinks: [] }, ["/r", "/r/n"], 10);
    expect(m.files).toEqual(["/r/n/a/.env"]);
    expect(m.pins).toEqual(["/r/n/a"]);
  });

  it("never exceeds the bound, whatever the shape (table)", () => {
    for (const [n, width, cap] of [[1000, 1, 256], [300, 300, 256], [5000, 50, 64], [257, 257, 256], [100, 2, 8]] as const) {
      const list: string[] = [];
      for (let i = 0; i < n; i++) list.push(`/r/t${i % width}/u${i}/.env`);
      const m = boundMasks({ files: list, dirs: [], pins: [], symlinks: [] }, ["/r"], cap);
      expect(count(m), `${n} ${width} ${cap}`).toBeLessThanOrEqual(cap);
    }
  });
});

describe("execute_command under bubblewrap never shows a deny match", () => {
  let backend: ExecBackend;
  let root: string;
  let roRoot: string;
  const policy = testPolicy();
  beforeAll(() => {
    backend = createNativeBackend({ confinement: "bubblewrap" });
    root = tempDir("deny-root");
    roRoot = tempDir("deny-ro");
    makeTree(root);
    writeFileSync(join(roRoot, ".env"), `${canary} ro\n`);
    writeFileSync(join(roRoot, "data.txt"), "ro data\n");
  });
  afterAll(async () => {
    await backend.close();
    cleanup(root, roRoot);
  });
  const roots = () => [
    { path: root, writable: true },
    { path: roRoot, writable: false },
  ];
  const sh = async (command: string) => {
    const { bridge } = bridgeWith(backend, roots(), { policy });
    const out = await bridge.execute({ command });
    expect(out.allowed).toBe(true);
    return out.result!;
  };
  const files = [...SECRETS, "link", "pipe.pem"].filter((f) => !f.startsWith(".ssh")).concat([".ssh/id_ed25519"]);

  it.each([
    ["cat", (f: string) => `cat ${f}; echo rc=$?`],
    ["node", (f: string) => `node -e 'try { process.stdout.write(require("fs").readFileSync(${JSON.stringify(f)}, "utf8") + "|read") } catch (e) { console.log(e.code) }'`],
    ["python3", (f: string) => `python3 -c 'import sys\ntry:\n print(repr(open(sys.argv[1]).read()))\nexcept Exception as e:\n print("ERR", type(e).__name__)' ${f}`],
  ])("%s reads nothing of a masked file", async (_tool, cmd) => {
    for (const f of files) {
      if (f === "pipe.pem" && _tool !== "cat") continue;
      const r = await sh(cmd(f));
      expect(r.stdout + r.stderr, f).not.toContain(canary);
    }
  });

  it("the masked files read as empty, the masked directory as empty, a read-only root's too", async () => {
    const r = await sh(`cat .env sub/.env.local link | wc -c; ls -A .ssh | wc -l; cat ${roRoot}/.env | wc -c; cat ${roRoot}/data.txt`);
    expect(r.stdout).toBe("0\n0\n0\nro data\n");
  });

  it.each([
    ["ls -la", "ls -laR ."],
    ["find", "find . -exec cat {} + 2>&1"],
    ["grep -R", "grep -R CANARY . 2>&1; grep -R CANARY ${RO} 2>&1; echo end"],
    ["tar", "tar cf - . 2>/dev/null"],
  ])("%s over the whole root shows no secret", async (_name, command) => {
    const r = await sh(command.replace("${RO}", roRoot));
    expect(r.stdout.length).toBeGreaterThan(0);
    expect(r.stdout + r.stderr).not.toContain(canary);
  });

  it("grep -r has no errors to report on masked files (they are empty, not unreadable)", async () => {
    const r = await sh("grep -R plain .");
    expect(r.stdout).toContain("ok.txt:plain data");
    expect(r.stdout).toContain("alias.pem:plain data"); // a matching symlink to an innocent file is left alone
    expect(r.stderr.trim().split("\n")).toEqual(["grep: ./dangling.pem: No such file or directory"]);
  });

  it("normal files still read and write, new directories too", async () => {
    const r = await sh("cat ok.txt && echo hi > new.txt && mkdir -p made/x && echo deep > made/x/f && cat made/x/f node_modules/pkg/index.js");
    expect(r.exit_code).toBe(0);
    expect(r.stdout).toBe("plain data\ndeep\nmodule.exports = 1;\n");
    expect(readFileSync(join(root, "new.txt"), "utf8")).toBe("hi\n");
  });

  it("writing, removing or renaming a masked path changes nothing on the host", async () => {
    const before = SECRETS.map((f) => readFileSync(join(root, f), "utf8"));
    const r = await sh(
      [
        "echo X > .env",
        "echo X >> sub/.env.local",
        "rm -f certs/server.pem",
        "cp ok.txt .aws/credentials",
        "mv .aws aws2", // a pin: the directory cannot be renamed out of the glob
        "mv .ssh ssh2",
        "touch .ssh/new",
        "rm -rf node_modules/pkg",
        "mv sub sub2",
        "rm -rf deep",
        "ln -f .env stolen",
        "node -e 'require(\"fs\").writeFileSync(\".env\", \"Y\")'",
        "python3 -c 'open(\"certs/server.pem\", \"w\").write(\"Y\")'",
        "echo done",
      ].join("; "),
    );
    expect(r.stdout).toContain("done");
    expect(SECRETS.map((f) => readFileSync(join(root, f), "utf8"))).toEqual(before);
    expect(existsSync(join(root, "aws2"))).toBe(false);
    expect(existsSync(join(root, "ssh2"))).toBe(false);
    expect(existsSync(join(root, ".ssh", "new"))).toBe(false);
    // What could be removed was; the next command still sees no secret.
    const next = await sh("cat -- $(find . -type f) 2>/dev/null; ls -R");
    expect(next.stdout).not.toContain(canary);
  });

  it("a secret that appears between two commands is masked in the second", async () => {
    await sh("true");
    writeFileSync(join(root, ".env.production"), `${canary} late\n`);
    mkdirSync(join(root, "later", ".ssh"), { recursive: true });
    writeFileSync(join(root, "later", ".ssh", "id_rsa"), `${canary} late\n`);
    const r = await sh("cat .env.production later/.ssh/id_rsa; ls -A later/.ssh");
    expect(r.stdout + r.stderr).not.toContain(canary);
  });

  it("a secret the command itself makes is masked for the next command", async () => {
    const first = await sh(`echo ${canary} > mine.key; cat mine.key`);
    expect(first.stdout).toContain(canary); // its own output: nothing to hide from itself
    const second = await sh("cat mine.key; echo rc=$?");
    expect(second.stdout).toBe("rc=0\n");
  });

  it("the shipped default policy allows `cat .env` and it still prints nothing", async () => {
    const shipped = parsePolicy(JSON.parse(readFileSync(join(__dirname, "../../../policies/default.json"), "utf8")));
    const { bridge } = bridgeWith(backend, roots(), { policy: shipped, decide: undefined });
    const out = await bridge.execute({ command: "cat .env" });
    expect(out, out.reason).toMatchObject({ allowed: true });
    expect(out.result?.exit_code).toBe(0);
    expect(out.result?.stdout).toBe("");
  });

  it("a background process is masked too", async () => {
    const r = await backend.start(script(root, "cat .env link; echo end", { denyGlobs: DEFAULT_DENY_GLOBS }));
    const done = await r.done;
    expect(done.stdout).toBe("end\n");
  });

  it("without denyGlobs (other callers), nothing is masked: the request decides", async () => {
    const r = await backend.run(script(root, "cat ok.txt"));
    expect(r.stdout).toBe("plain data\n");
  });

  it("more directories than execution.deny_scan_limit: the command runs, the excess is hidden, nothing refused", async () => {
    const big = tempDir("deny-big");
    try {
      for (let i = 0; i < 1100; i++) mkdirSync(join(big, "many", `d${i}`), { recursive: true });
      writeFileSync(join(big, ".env"), canary);
      writeFileSync(join(big, "data.txt"), "data\n");
      const { bridge, audit } = bridgeWith(backend, [{ path: big, writable: true }], { policy: testPolicy({ deny_scan_limit: 1000 }) });
      const out = await bridge.execute({ command: "cat .env data.txt; ls many | wc -l; echo ran > ran.txt" });
      expect(out.allowed).toBe(true);
      expect(out.result?.stdout).toBe("data\n0\n");
      expect(existsSync(join(big, "ran.txt"))).toBe(true);
      expect(audit.records.at(-1)).toMatchObject({ phase: "outcome", decision: "allow" });
    } finally {
      cleanup(big);
    }
  });

  it("leaves nothing behind on the host for the links it did not mask", () => {
    expect(existsSync("/nonexistent/x")).toBe(false);
    expect(readdirSync(root)).not.toContain("x");
    expect(lstatSync(join(root, "dangling.pem")).isSymbolicLink()).toBe(true);
    expect(lstatSync(join(root, "link")).isSymbolicLink()).toBe(true);
  });
});

describe("a flood of entries never locks commands out (issue 10, finding 5)", () => {
  let backend: ExecBackend;
  let cache: DenyMaskCache;
  let root: string;
  // After the flood, a budget far shorter than reading 200 000 entries (matching them alone takes
  // longer): the next command surely starts before the check ends. Before it, time enough for a
  // cold index of a small root even on a loaded machine.
  const policy = testPolicy({ timeout_s: 120, deny_scan_budget_ms: 300 });
  const patient = testPolicy({ timeout_s: 120, deny_scan_budget_ms: 10_000 });
  beforeAll(() => {
    cache = createDenyMaskCache();
    backend = createNativeBackend({ confinement: "bubblewrap", denyMaskCache: cache });
    root = tempDir("deny-flood");
    writeFileSync(join(root, ".env"), `${canary} outside\n`);
    mkdirSync(join(root, "keep"));
    writeFileSync(join(root, "keep", "notes.txt"), "kept\n");
  });
  afterAll(async () => {
    await backend.close();
    cleanup(root);
  });
  const sh = async (command: string, p = policy) => {
    const { bridge } = bridgeWith(backend, [{ path: root, writable: true }], { policy: p });
    const out = await bridge.execute({ command });
    expect(out.allowed, out.reason).toBe(true);
    return out.result!;
  };

  it("one command makes 200 001 entries; the next starts within the budget, secrets stay hidden, rm -rf cleans up", async () => {
    // The flood, made by a command (a secret inside it too).
    const made = await sh(
      `python3 -c 'import os\nos.makedirs("flood/sub")\nopen("flood/sub/.env", "w").write("${canary} inside")\nfor i in range(200000): os.close(os.open("flood/f%d" % i, os.O_CREAT | os.O_WRONLY))'`,
      patient,
    );
    expect(made.exit_code, made.stderr).toBe(0);

    // Right after: not refused, and not held until the check of the flood ends (an order, not a
    // time: the command started while the flood was still unchecked, so it saw the flood hidden;
    // had it waited for the check it would list 200 001 entries); the secrets are hidden, the rest
    // of the root is not.
    const next = await sh("cat .env flood/sub/.env; cat keep/notes.txt; ls flood | wc -l");
    expect(next.exit_code).toBe(0);
    expect(next.stdout + next.stderr).not.toContain(canary);
    expect(next.stdout).toBe("kept\n0\n");

    // The index catches up in the background; then the flood is visible and removable.
    await cache.settled();
    const seen = await sh("ls flood | wc -l; cat flood/sub/.env .env; echo end");
    expect(seen.stdout).toBe("200001\nend\n");
    const rm = await sh("rm -rf flood; echo rc=$?");
    // Everything goes but the masked secret (a mount point: EBUSY) and the directories above it.
    expect(rm.stdout).toContain("rc=1");
    expect(rm.stderr).toMatch(/flood\/sub\/.env': Device or resource busy/);
    expect(readdirSync(join(root, "flood"))).toEqual(["sub"]);
    expect(readFileSync(join(root, "flood", "sub", ".env"), "utf8")).toBe(`${canary} inside`);

    // Later commands see the rest, and still not the secrets.
    const later = await sh("ls -A; ls -A flood/sub; cat .env flood/sub/.env keep/notes.txt");
    expect(later.stdout).toBe(".env\nflood\nkeep\n.env\nkept\n");
  }, 120_000);
});
