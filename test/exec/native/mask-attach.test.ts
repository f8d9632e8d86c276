import { randomBytes } from "node:crypto";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { chmodSync, chownSync, existsSync, mkdirSync, readFileSync, readdirSync, statSync, symlinkSync, unlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Readable, Writable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ExecRefusal } from "../../../src/exec/errors.js";
import { readHostLayout } from "../../../src/exec/native/host-layout.js";
import { createNativeBackend } from "../../../src/exec/native/index.js";
import { MASK_ATTACH_PATH, probeMaskAttach } from "../../../src/exec/native/mask-attach.js";
import { MASK_STAGE } from "../../../src/exec/native/mount-plan.js";
import { createMaskSources } from "../../../src/exec/native/mask-sources.js";
import { whichSync } from "../../../src/exec/native/which.js";
import { DEFAULT_DENY_GLOBS } from "../../../src/policy/schema/filesystem.js";
import { cleanup, script, tempDir } from "../support.js";

/**
 * filesystem.deny masks inside the roots are attached by descriptor (native/mask-attach.c), not
 * bound by bubblewrap by path. bubblewrap makes a file mount point with stat() then creat(), which
 * truncates: a directory renamed on the host between the two emptied the real secret (seen once
 * in CI's deny-race.test.ts). The helper never creates anything and lands each mask on the entry
 * of the directory the deny check judged, or refuses.
 */

const TRIES = Number(process.env.WARDEN_MASK_RACE_TRIES ?? 150);

/**
 * The unprivileged user of the last test: a uid of its own, not nobody (65534), which the docker
 * tests run as at the same time; without cgroups the command's process limit (RLIMIT_NPROC) counts
 * every process of the uid, theirs included.
 */
const USER = 47_211;

/**
 * A host process moving two directories around with plain renames (a -> t, b -> a, t -> b): the
 * path a/.env keeps appearing and disappearing, the window bubblewrap's stat-then-creat falls into.
 */
function mover(dir: string): ChildProcess {
  const [a, b, t] = ["a", "b", "t"].map((n) => JSON.stringify(join(dir, n)));
  const code = `import os, random, time\nend = time.time() + 300\nwhile time.time() < end:\n  for _ in range(random.randint(1, 300)):\n    try:\n      os.rename(${a}, ${t}); os.rename(${b}, ${a}); os.rename(${t}, ${b})\n    except OSError:\n      pass\n  time.sleep(random.random() * 0.02)`;
  return spawn("python3", ["-c", code], { stdio: "ignore" });
}

/** Every copy of the secret still on the host, whole; and any emptied file where the secret was. */
function secretState(dir: string, canary: string): { whole: number; emptied: string[] } {
  let whole = 0;
  const emptied: string[] = [];
  for (const d of ["a", "b", "t"]) {
    let text: string;
    try {
      text = readFileSync(join(dir, d, ".env"), "utf8");
    } catch {
      continue; // not there (moving), or a directory
    }
    if (text === `${canary}\n`) whole++;
    else emptied.push(`${d}/.env: ${JSON.stringify(text)}`);
  }
  return { whole, emptied };
}

/**
 * Runs the helper around a real bubblewrap the way the launcher does (gate descriptors 3-5, the
 * sources staged at MASK_STAGE) and returns what it told the gate ("ready" or "refused: <why>") and
 * what the sandbox printed once let go: `after` runs there. The sandbox binds `dir` by path.
 */
async function attachAround(dir: string, records: string[], after = "true", extra: string[] = []): Promise<{ said: string; stdout: string }> {
  const bwrap = whichSync("bwrap", ["/usr/bin", "/usr/local/bin", "/bin"])!;
  const sources = createMaskSources();
  const { file, dir: empty } = sources.get();
  const gate = `echo ready >&4; exec 4>&-; read go <&5; [ "$go" = go ] && { ${after}; }`;
  const stage = ["--ro-bind", file.path, `${MASK_STAGE}/file`, "--ro-bind", empty.path, `${MASK_STAGE}/dir`];
  const system = readHostLayout().system.flatMap((e) => (e.symlink !== undefined ? ["--symlink", e.symlink, e.path] : ["--ro-bind", e.path, e.path]));
  const sandbox = [bwrap, "--info-fd", "3", ...system, "--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp", "--bind", dir, dir, ...extra, ...stage, "--", "/bin/sh", "-c", gate];
  const sub = spawn(MASK_ATTACH_PATH, ["3", "4", MASK_STAGE, file.id.dev, file.id.ino, empty.id.dev, empty.id.ino, ...records, "--", ...sandbox], {
    stdio: ["ignore", "pipe", "pipe", "pipe", "pipe", "pipe"],
  });
  const stdio = sub.stdio as unknown as (Readable & Writable)[];
  const [info, ready, go] = [stdio[3]!, stdio[4]!, stdio[5]!];
  info.resume();
  let said = "";
  let stdout = "";
  ready.on("data", (c: Buffer) => (said += c.toString()));
  sub.stdout!.on("data", (c: Buffer) => (stdout += c.toString()));
  await new Promise((r) => ready.once("end", r));
  go.end(said.trim() === "ready" ? "go\n" : "stop\n");
  await new Promise((r) => sub.once("exit", r));
  sources.dispose();
  return { said: said.trim(), stdout };
}

describe("deny masks attached by descriptor", () => {
  it("the helper is built and works on this machine (npm run build compiles native/mask-attach.c)", () => {
    expect(existsSync(MASK_ATTACH_PATH)).toBe(true);
    expect(probeMaskAttach()).toEqual({ helper: MASK_ATTACH_PATH });
  });

  it("a missing helper is said, not hidden: the backend falls back to bubblewrap binds and says why", async () => {
    const mode = probeMaskAttach("/nonexistent/mask-attach");
    expect(mode).toMatchObject({ helper: null, why: expect.stringContaining("was not built") });
    const backend = createNativeBackend({ confinement: "bubblewrap", maskAttach: mode });
    try {
      expect(backend.describe().detail).toContain("pins and deny masks as bubblewrap binds by path");
    } finally {
      await backend.close();
    }
  });

  describe("the helper itself, around a real bubblewrap", () => {
    let dir: string;
    beforeAll(() => {
      dir = tempDir("mask-attach-helper");
      mkdirSync(join(dir, "a"));
      mkdirSync(join(dir, "b"));
      writeFileSync(join(dir, "a", ".env"), "SECRET\n");
    });
    afterAll(() => cleanup(dir));
    const id = (p: string) => {
      const st = statSync(p, { bigint: true });
      return [String(st.dev), String(st.ino)];
    };

    it("attaches a mask on the entry of the judged directory, removes its stage and says ready", async () => {
      const r = await attachAround(dir, ["f", join(dir, "a", ".env"), ...id(join(dir, "a"))], `cat ${dir}/a/.env; ls -A /; echo end`);
      expect(r.said).toBe("ready");
      expect(r.stdout).not.toContain("SECRET");
      expect(r.stdout).not.toContain(MASK_STAGE.slice(1));
      expect(r.stdout).toContain("end");
    });
    it("refuses when the directory at the path is not the judged one (a rename on the host), creating nothing", async () => {
      const { said } = await attachAround(dir, ["f", join(dir, "b", ".env"), ...id(join(dir, "a"))]);
      expect(said).toMatch(/^refused: the directory holding .*\/b\/\.env is not the one the deny check judged$/);
      expect(readdirSync(join(dir, "b"))).toEqual([]);
    });
    it("refuses a masked file that is gone, where bubblewrap would have made an empty one", async () => {
      const { said } = await attachAround(dir, ["f", join(dir, "b", ".env"), ...id(join(dir, "b"))]);
      expect(said).toMatch(/^refused: .*\/b\/\.env cannot be opened \(No such file or directory\)$/);
      expect(readdirSync(join(dir, "b"))).toEqual([]);
    });
    it("refuses a symlink where the mask should go, and a way through a symlink", async () => {
      symlinkSync(join(dir, "a", ".env"), join(dir, "b", "link"));
      symlinkSync(join(dir, "a"), join(dir, "c"));
      try {
        expect((await attachAround(dir, ["f", join(dir, "b", "link"), ...id(join(dir, "b"))])).said).toMatch(/^refused: .*\/b\/link is not a file any more$/);
        expect((await attachAround(dir, ["f", join(dir, "c", ".env"), ...id(join(dir, "a"))])).said).toMatch(/^refused: the way to .*\/c\/\.env is not a directory any more/);
        expect((await attachAround(dir, ["d", join(dir, "a", ".env"), ...id(join(dir, "a"))])).said).toMatch(/is not a directory any more$/);
      } finally {
        unlinkSync(join(dir, "b", "link"));
        unlinkSync(join(dir, "c"));
      }
      expect(readFileSync(join(dir, "a", ".env"), "utf8")).toBe("SECRET\n");
    });
    it("pins the judged directory onto itself, keeping what is mounted below it, and masks inside it land on the pin", async () => {
      mkdirSync(join(dir, "a", "ro"), { recursive: true });
      const r = await attachAround(
        dir,
        ["p", join(dir, "a"), ...id(join(dir, "a")), "f", join(dir, "a", ".env"), ...id(join(dir, "a"))],
        `cd ${dir}; cat a/.env; mv a z || echo mv-refused; touch a/ro/x || echo ro-kept; touch a/w && echo rw-kept; rm -f a/w; grep -c " ${dir}/a " /proc/self/mountinfo`,
        ["--ro-bind", join(dir, "a", "ro"), join(dir, "a", "ro")],
      );
      expect(r.said).toBe("ready");
      expect(r.stdout).not.toContain("SECRET");
      expect(r.stdout.split("\n")).toEqual(expect.arrayContaining(["mv-refused", "ro-kept", "rw-kept"]));
      expect(Number(r.stdout.trim().split("\n").pop())).toBeGreaterThanOrEqual(1); // the pin is a mount
      expect(readdirSync(join(dir, "a")).sort()).toEqual([".env", "ro"]);
    });
    it("refuses a pin that is not the judged directory, or a symlink in its place, creating nothing", async () => {
      expect((await attachAround(dir, ["p", join(dir, "b"), ...id(join(dir, "a"))])).said).toMatch(/^refused: .*\/b is not the directory the server judged$/);
      symlinkSync(join(dir, "a"), join(dir, "c"));
      try {
        expect((await attachAround(dir, ["p", join(dir, "c"), ...id(join(dir, "a"))])).said).toMatch(/^refused: the pinned directory .*\/c cannot be opened/);
      } finally {
        unlinkSync(join(dir, "c"));
      }
      expect(readdirSync(join(dir, "b"))).toEqual([]);
    });
    it("says what is wrong with its arguments", async () => {
      const r = spawnSync(MASK_ATTACH_PATH, ["3", "4", "/stage", "1", "2", "3", "4", "q", "/p", "1", "2", "--", "/bin/true"], { encoding: "utf8" });
      expect(r.status).toBe(2);
      expect(r.stderr).toBe("mask-attach: unknown mask kind: q\n");
    });
  });

  describe("through the native backend", () => {
    let root: string;
    const canary = `CANARY-${randomBytes(8).toString("hex")}`;
    const backends: ReturnType<typeof createNativeBackend>[] = [];
    beforeAll(() => {
      root = tempDir("mask-attach");
    });
    afterAll(async () => {
      await Promise.all(backends.map((b) => b.close()));
      cleanup(root);
    });
    const backend = (fallback = false) => {
      const b = createNativeBackend({ confinement: "bubblewrap", ...(fallback ? { maskAttach: { helper: null, why: "forced by the test" } } : {}) });
      backends.push(b);
      return b;
    };

    it("a masked file and directory read empty, refuse writes and stay intact on the host", async () => {
      const dir = join(root, "plain");
      mkdirSync(join(dir, "a", ".ssh"), { recursive: true });
      writeFileSync(join(dir, "a", ".env"), `${canary}\n`);
      writeFileSync(join(dir, "a", ".ssh", "id_rsa"), `${canary}\n`);
      writeFileSync(join(dir, "a", "notes.txt"), "PLAIN\n");
      const b = backend();
      expect(b.describe().detail).toContain("pins and deny masks inside the roots attached by descriptor");
      const r = await b.run(script(dir, "cat a/.env a/notes.txt; ls -A a/.ssh; echo x > a/.env || echo write-refused; rm a/.env || echo rm-refused; mv a b || echo mv-refused", { denyGlobs: DEFAULT_DENY_GLOBS }));
      expect(r.stdout + r.stderr).not.toContain(canary);
      expect(r.stdout).toContain("PLAIN");
      expect(r.stdout).toContain("write-refused");
      expect(r.stdout).toContain("rm-refused");
      expect(r.stdout).toContain("mv-refused"); // a directory holding a mask is a mount point in there
      expect(readFileSync(join(dir, "a", ".env"), "utf8")).toBe(`${canary}\n`);
      expect(readdirSync(join(dir, "a", ".ssh"))).toEqual(["id_rsa"]);
    });

    it("a working directory inside a masked directory shows it masked, and pid 1 (bubblewrap) holds no directory of a root", async () => {
      const dir = join(root, "cwd");
      mkdirSync(join(dir, ".ssh"), { recursive: true });
      writeFileSync(join(dir, ".ssh", "id_rsa"), `${canary}\n`);
      writeFileSync(join(dir, ".env"), `${canary}\n`);
      for (const b of [backend(), backend(true)]) {
        const r = await b.run(script(join(dir, ".ssh"), "pwd; ls -A; cat id_rsa; readlink /proc/1/cwd; cat /proc/1/cwd/id_rsa /proc/1/cwd/.env /proc/1/cwd/../.env", { denyGlobs: DEFAULT_DENY_GLOBS, roots: [{ path: dir, writable: true }] }));
        expect(r.stdout + r.stderr).not.toContain(canary);
        expect(r.stdout.split("\n").slice(0, 2)).toEqual([join(dir, ".ssh"), "/"]); // in the masked (empty) directory; pid 1 in /
      }
    });

    /**
     * The data-loss race: the secret is never emptied on the host and never shown. With the
     * helper removed (masks bound by bubblewrap), the same race empties it (the test's break on
     * purpose: WARDEN_MASK_RACE_FALLBACK=1).
     */
    it("a host process renaming the directory that holds a secret never gets it emptied or shown", async () => {
      const dir = join(root, "race");
      mkdirSync(join(dir, "a"), { recursive: true });
      mkdirSync(join(dir, "b"));
      writeFileSync(join(dir, "a", ".env"), `${canary}\n`);
      writeFileSync(join(dir, "b", "plain.txt"), "PLAIN\n");
      const b = backend(process.env.WARDEN_MASK_RACE_FALLBACK === "1");
      const t = { ran: 0, refused: 0, leaks: 0, emptied: 0, rules: {} as Record<string, number> };
      // Calm first: it runs and the secret is masked (under the race most tries may be refused: fail closed).
      const calm = await b.run(script(dir, "cat a/.env b/plain.txt", { denyGlobs: DEFAULT_DENY_GLOBS }));
      expect(calm.stdout).toBe("PLAIN\n");
      const m = mover(dir);
      try {
        for (let i = 0; i < TRIES && t.emptied === 0; i++) {
          try {
            const r = await b.run(script(dir, "cat a/.env b/.env a/plain.txt b/plain.txt t/.env 2>/dev/null; true", { denyGlobs: DEFAULT_DENY_GLOBS }));
            t.ran++;
            if ((r.stdout + r.stderr).includes(canary)) t.leaks++;
          } catch (err) {
            if (!(err instanceof ExecRefusal)) throw err;
            t.refused++;
            t.rules[err.rule] = (t.rules[err.rule] ?? 0) + 1;
          }
          // Checked between tries, with the mover paused by nothing: the file may be mid-move (under t).
          const s = secretState(dir, canary);
          if (s.emptied.length > 0) t.emptied++;
        }
      } finally {
        m.kill("SIGKILL");
        await new Promise((r) => m.once("exit", r));
      }
      const end = secretState(dir, canary);
      console.log(`mask attach race: ${TRIES} tries, ${t.ran} ran, ${t.refused} refused ${JSON.stringify(t.rules)}, ${t.leaks} leaks, secret emptied: ${t.emptied > 0 ? end.emptied.join(", ") || "yes" : "never"}, whole copies left: ${end.whole}`);
      expect(t.leaks).toBe(0);
      expect(t.emptied).toBe(0);
      expect(end).toEqual({ whole: 1, emptied: [] });
    }, 600_000);
  });

  /**
   * An unprivileged user's server: bubblewrap makes a user namespace (two, nested), and the helper
   * joins the one that owns the sandbox's mount namespace to attach the masks there. The package is
   * bound at a world-readable place in a private mount namespace, so the checkout's own parents
   * (/root, say) need not be.
   */
  it(`as an unprivileged user (uid ${USER}): attached by descriptor, and the rename race never empties the secret`, async () => {
    const canary = `CANARY-${randomBytes(8).toString("hex")}`;
    const dir = tempDir("mask-attach-user");
    const view = tempDir("mask-attach-pkg");
    const project = fileURLToPath(new URL("../../../", import.meta.url));
    mkdirSync(join(dir, "a"));
    mkdirSync(join(dir, "b"));
    writeFileSync(join(dir, "a", ".env"), `${canary}\n`);
    writeFileSync(join(dir, "b", "plain.txt"), "PLAIN\n");
    const run = join(view, "..", `${view.split("/").pop()}-run.mjs`);
    writeFileSync(
      run,
      `import { createNativeBackend } from ${JSON.stringify(join(view, "dist/exec/native/index.js"))};
const b = createNativeBackend({ confinement: "bubblewrap", cgroups: false });
const req = { argv: ["/bin/sh"], script: "cat a/.env b/.env t/.env a/plain.txt b/plain.txt 2>/dev/null; id -u", cwd: ${JSON.stringify(dir)}, env: { PATH: "/usr/bin:/bin" }, timeoutMs: 10000, outputCapBytes: 65536, limits: { memoryMb: 1024, processes: 64, cpuS: 60, fileSizeMb: 64, network: false }, roots: [{ path: ${JSON.stringify(dir)}, writable: true }], denyGlobs: ${JSON.stringify(DEFAULT_DENY_GLOBS)} };
const t = { detail: b.describe().detail, ran: 0, refused: 0, rules: {}, outputs: [] };
for (let i = 0; i < Number(process.argv[2]); i++) {
  try { const r = await b.run(req); t.ran++; t.outputs.push(r.stdout + r.stderr); }
  catch (e) { t.refused++; t.rules[e.rule] = (t.rules[e.rule] ?? 0) + 1; }
}
await b.close();
console.log(JSON.stringify(t));
`,
    );
    chmodSync(run, 0o644);
    chownSync(dir, USER, USER);
    for (const d of ["a", "b"]) chownSync(join(dir, d), USER, USER);
    chmodSync(dir, 0o755);
    const inner = `mount --bind "$1" "$2" && exec setpriv --reuid ${USER} --regid ${USER} --clear-groups --reset-env "$3" "$4" "$5"`;
    const asNobody = (tries: number) => {
      const out = spawnSync("unshare", ["--mount", "--propagation", "private", "sh", "-c", inner, "sh", project, view, process.execPath, run, String(tries)], { encoding: "utf8", timeout: 300_000 });
      if (out.status !== 0) throw new Error(`the unprivileged run failed (${out.status}): ${out.stderr}`);
      return JSON.parse(out.stdout) as { detail: string; ran: number; refused: number; rules: Record<string, number>; outputs: string[] };
    };
    // Calm: every command runs as that user and sees the secret masked.
    const calm = asNobody(3);
    expect(calm.detail).toContain("pins and deny masks inside the roots attached by descriptor");
    expect(calm.outputs).toHaveLength(3);
    for (const o of calm.outputs) {
      expect(o).toContain(String(USER));
      expect(o).toContain("PLAIN");
      expect(o).not.toContain(canary);
    }
    // Under the rename race: never shown, never emptied.
    const m = mover(dir);
    try {
      const t = asNobody(60);
      // bubblewrap failing to bind a pin the mover just took away is a refusal (sandbox.changed), never an output.
      console.log(`mask attach race as uid ${USER}: 60 tries, ${t.ran} ran, ${t.refused} refused ${JSON.stringify(t.rules)}, ${t.outputs.filter((o) => o.includes(canary)).length} leaks`);
      expect(t.outputs.filter((o) => !o.includes(String(USER)))).toEqual([]);
      expect(t.outputs.filter((o) => o.includes(canary))).toEqual([]);
    } finally {
      m.kill("SIGKILL");
      await new Promise((r) => m.once("exit", r));
    }
    expect(secretState(dir, canary)).toEqual({ whole: 1, emptied: [] });
    cleanup(dir, view, run);
  }, 600_000);
});
