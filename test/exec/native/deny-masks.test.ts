import { randomBytes } from "node:crypto";
import { execFileSync } from "node:child_process";
import { existsSync, lstatSync, mkdirSync, readFileSync, readdirSync, renameSync, symlinkSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDenyMaskCache, DENY_SCAN_RULE, mergeMasks, scanDenyMasks } from "../../../src/exec/native/deny-masks.js";
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

describe("scanDenyMasks (real tree, pure matcher of the WASI sandbox)", () => {
  let root: string;
  const rules = compileDenyRules(DEFAULT_DENY_GLOBS);
  const bounds = { maxEntries: 10_000, maxMs: 10_000 };
  beforeAll(() => {
    root = tempDir("deny-scan");
    makeTree(root);
    writeFileSync(join(root, ".ssh", "known_hosts"), "x\n");
  });
  afterAll(() => cleanup(root));

  it("finds every match, masks a matching directory whole, pins the directories above masks", async () => {
    const m = await scanDenyMasks(root, rules, bounds);
    const rel = (l: string[]) => l.map((p) => p.slice(root.length + 1)).sort();
    expect(rel(m.files)).toEqual([".aws/credentials", ".env", "certs/server.pem", "deep/a/b/c.key", "node_modules/pkg/.env", "pipe.pem", "sub/.env.local"]);
    expect(rel(m.dirs)).toEqual([".ssh"]); // not .ssh/id_ed25519, .ssh/known_hosts: not entered
    expect(rel(m.symlinks)).toEqual(["alias.pem", "dangling.pem"]);
    expect(rel(m.pins)).toEqual([".aws", "certs", "deep", "deep/a", "deep/a/b", "node_modules", "node_modules/pkg", "sub"]);
    expect(m.entries).toBeGreaterThan(15);
  });

  it("refuses, with the rule, a root larger than the entry bound", async () => {
    const err = await scanDenyMasks(root, rules, { maxEntries: 5, maxMs: 10_000 }).catch((e) => e);
    expect(err).toBeInstanceOf(ExecRefusal);
    expect(err.rule).toBe(DENY_SCAN_RULE);
    expect(err.message).toContain("execution.deny_scan_limit");
  });

  it("refuses a scan that runs out of time", async () => {
    const err = await scanDenyMasks(root, rules, { maxEntries: 10_000, maxMs: -1 }).catch((e) => e);
    expect(err).toBeInstanceOf(ExecRefusal);
    expect(err.rule).toBe(DENY_SCAN_RULE);
  });

  it("refuses a root it cannot read rather than skip it", async () => {
    const err = await scanDenyMasks(join(root, "missing-root"), rules, bounds).catch((e) => e);
    expect(err).toBeInstanceOf(ExecRefusal);
  });

  it("rescans reading only the directories whose ctime changed, and see every change", async () => {
    const first = await scanDenyMasks(root, rules, bounds, new Map(), -1);
    const again = await scanDenyMasks(root, rules, bounds, first.memo, -1);
    expect(again.read).toBe(0); // nothing changed: one lstat per directory, no readdir
    expect(again.files.sort()).toEqual(first.files.sort());
    // ctime is coarse (a clock tick): let one pass, or a change in the scan's own tick looks like none
    // (the trust window, disabled here with -1, covers that case in real use).
    await new Promise((r) => setTimeout(r, 30));
    writeFileSync(join(root, "deep", "a", ".env.new"), canary); // deep in the tree
    renameSync(join(root, "sub"), join(root, "sub-renamed"));
    const third = await scanDenyMasks(root, rules, bounds, again.memo, -1);
    expect(third.read).toBe(3); // the root (rename), deep/a (new file), sub-renamed (new path)
    expect(third.files).toContain(join(root, "deep", "a", ".env.new"));
    expect(third.files).toContain(join(root, "sub-renamed", ".env.local"));
    expect(third.files).not.toContain(join(root, "sub", ".env.local"));
    // A forged mtime does not hide a change: the memo follows the ctime.
    const before = lstatSync(join(root, "certs"));
    await new Promise((r) => setTimeout(r, 30));
    writeFileSync(join(root, "certs", "new.key"), canary);
    utimesSync(join(root, "certs"), before.atime, before.mtime);
    const fourth = await scanDenyMasks(root, rules, bounds, third.memo, -1);
    expect(fourth.files).toContain(join(root, "certs", "new.key"));
    renameSync(join(root, "sub-renamed"), join(root, "sub"));
  });

  it("does not trust a directory changed just before it was read (coarse timestamps)", async () => {
    const first = await scanDenyMasks(root, rules, bounds); // the tree was just made: everything is recent
    const again = await scanDenyMasks(root, rules, bounds, first.memo);
    expect(again.read).toBe(first.read);
  });

  it("cache: a walk in flight is shared, but not across the end of a command", async () => {
    const cache = createDenyMaskCache();
    const [a, b] = await Promise.all([cache.masksFor([{ path: root }], DEFAULT_DENY_GLOBS, 10_000), cache.masksFor([{ path: root }], DEFAULT_DENY_GLOBS, 10_000)]);
    expect(a.files).toEqual(b.files);
    const pending = cache.masksFor([{ path: root }], DEFAULT_DENY_GLOBS, 10_000);
    writeFileSync(join(root, ".env.late"), canary);
    cache.invalidate();
    const after = await cache.masksFor([{ path: root }], DEFAULT_DENY_GLOBS, 10_000);
    await pending;
    expect(after.files).toContain(join(root, ".env.late"));
  });

  it("merge: union of nested roots, nothing inside a masked directory", () => {
    const m = mergeMasks([
      { files: ["/p/.env", "/p/.ssh/x/.env"], dirs: ["/p/.ssh"], pins: ["/p/.ssh/x"], symlinks: [] },
      { files: ["/p/.env", "/p/sub/.env"], dirs: [], pins: ["/p/sub"], symlinks: ["/p/l"] },
    ]);
    expect(m).toEqual({ files: ["/p/.env", "/p/sub/.env"], dirs: ["/p/.ssh"], pins: ["/p/sub"], symlinks: ["/p/l"] });
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

  it("refuses, with rule execution.deny_scan_limit, a root with more entries than the policy allows", async () => {
    const big = tempDir("deny-big");
    try {
      for (let i = 0; i < 1100; i++) writeFileSync(join(big, `f${i}`), "");
      const { bridge, audit } = bridgeWith(backend, [{ path: big, writable: true }], { policy: testPolicy({ deny_scan_limit: 1000 }) });
      const out = await bridge.execute({ command: "echo ran > ran.txt" });
      expect(out.allowed).toBe(false);
      expect(out.rule).toBe("execution.deny_scan_limit");
      expect(out.reason).toContain("1000");
      expect(existsSync(join(big, "ran.txt"))).toBe(false);
      expect(audit.records.at(-1)).toMatchObject({ phase: "outcome", decision: "deny", rule: "execution.deny_scan_limit" });
      const ok = await bridgeWith(backend, [{ path: big, writable: true }], { policy: testPolicy({ deny_scan_limit: 2000 }) }).bridge.execute({ command: "echo ran" });
      expect(ok.result?.stdout).toBe("ran\n");
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
