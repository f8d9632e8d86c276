import { execFileSync, spawn } from "node:child_process";
import { existsSync, readFileSync, renameSync, unlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDockerBackend } from "../../../src/exec/docker/index.js";
import type { ExecRequest } from "../../../src/exec/types.js";
import { startDockerEngine, type DockerEngine } from "../../support/engines/docker-engine.js";
import { engineUnsupported } from "../../support/engines/require-binary.js";
import { canary, makeTempDir, removeDir, writeTree } from "../../support/tree.js";
import { request } from "../support.js";

const unsupported = engineUnsupported();
const LIMITS = { memoryMb: 64, processes: 32, cpuS: 60, fileSizeMb: 16, network: false };
/** The container's user owns the read-write root (as a deployment arranges it). */
const NOBODY = 65534;
/** Commands started during the host's exchange race. */
const TRIES = Number(process.env.WARDEN_DOCKER_DENY_TRIES ?? 12);
/** The shipped policy's filesystem.deny: what the file tools hide, commands must not read either. */
const DENY = (JSON.parse(readFileSync(join(__dirname, "../../../policies/default.json"), "utf8")) as { filesystem: { deny: string[] } }).filesystem.deny;

/**
 * filesystem.deny on the docker backend, against a real dockerd: secrets inside a root (random
 * canaries) must never reach a command's output, whatever a host process renames, removes or adds
 * between commands, and whatever a command tries inside the container. Which container ran a
 * command is its hostname (the container id).
 */
describe.skipIf(unsupported !== null)(`docker backend: filesystem.deny masks${unsupported ? ` (skipped: ${unsupported})` : ""}`, () => {
  let engine: DockerEngine;
  let base: string;
  let root: string;
  let backend: ReturnType<typeof createDockerBackend>;
  const secrets: string[] = [];
  const secret = (label: string) => {
    const s = canary(`CANARY-${label}`);
    secrets.push(s);
    return `${s}\n`;
  };
  // The shared request of test/exec/support.ts, with the busybox image's PATH and this file's limits and globs.
  const req = (script: string, extra: Partial<ExecRequest> = {}): ExecRequest =>
    request(root, ["/bin/sh", "-c", script], { env: { PATH: "/bin", LANG: "C" }, timeoutMs: 20_000, outputCapBytes: 256 * 1024, limits: LIMITS, denyGlobs: DENY, ...extra });
  /** Runs `script`; fails the test if any canary shows. Returns the output and the container that ran it. */
  async function run(script: string): Promise<{ out: string; container: string }> {
    const r = await backend.run(req(`hostname; ${script}`));
    const out = r.stdout + r.stderr;
    expect(r.error, out).toBeUndefined();
    for (const s of secrets) expect(out, `a secret showed for: ${script}`).not.toContain(s);
    const [container, ...rest] = out.split("\n");
    return { out: rest.join("\n"), container: container! };
  }
  /** Everything in the root belongs to the container's user: only the masks keep a command from a secret. */
  const own = () => execFileSync("chown", ["-R", `${NOBODY}:${NOBODY}`, root]);
  const look = "cat .env .env.* '.env.a:/:rw,z' .ssh/id_rsa app/config/.env.local app/cfg/.env.local later/.env 2>&1; grep -r CANARY . 2>&1; ls -a . .ssh app/config 2>&1";

  beforeAll(async () => {
    engine = await startDockerEngine();
    base = makeTempDir("warden-deny-docker-");
    root = join(base, "project");
    writeTree(base, {
      "project/.env": secret("ENV"),
      "project/.ssh/id_rsa": secret("SSH"),
      "project/app/config/.env.local": secret("NESTED"),
      "project/app/config/settings.json": "{}\n",
      "project/keep.txt": "work\n",
      // A name that would be read as more fields of a `src:dst:mode` bind string.
      "project/.env.a:/:rw,z": secret("COLON"),
    });
    own();
    backend = createDockerBackend({ image: engine.image, user: `${NOBODY}:${NOBODY}`, cpus: 1, hostBinaries: false, env: { DOCKER_HOST: engine.dockerHost } });
  });
  afterAll(async () => {
    await backend?.close();
    await engine?.stop();
    if (base) removeDir(base);
  });

  it("hides .env, .ssh/id_rsa and a nested .env.local (empty, read-only); the rest of the root is there", async () => {
    const { out } = await run(`${look}; cat keep.txt app/config/settings.json; echo x > .env || echo ENV-RO`);
    expect(out).toContain("work");
    expect(out).toContain("{}");
    expect(out).toContain("ENV-RO");
    expect(out).toMatch(/settings\.json/);
    expect(readFileSync(join(root, ".env"), "utf8")).toContain("CANARY-ENV");
  });

  it("inside a read-only root nested in a read-write one: its secrets hidden, its pins read-only", async () => {
    writeTree(base, { "outer/ro/cfg/.env": secret("RO-ENV"), "outer/ro/cfg/app.txt": "ro app\n", "outer/work.txt": "outer\n" });
    const outer = join(base, "outer");
    execFileSync("chown", ["-R", `${NOBODY}:${NOBODY}`, outer]);
    // A backend of its own: its container is not counted by the tests below.
    const other = createDockerBackend({ image: engine.image, user: `${NOBODY}:${NOBODY}`, cpus: 1, hostBinaries: false, env: { DOCKER_HOST: engine.dockerHost } });
    const r = await other.run(
      req("cat ro/cfg/.env ro/cfg/app.txt work.txt; echo x > ro/cfg/new 2>&1 || echo PIN-RO; mv ro/cfg ro/cfg2 2>&1 || echo NO-MV", {
        cwd: outer,
        roots: [
          { path: outer, writable: true },
          { path: join(outer, "ro"), writable: false },
        ],
      }),
    );
    await other.close();
    for (const x of secrets) expect(r.stdout + r.stderr).not.toContain(x);
    expect(r.stdout).toContain("ro app");
    expect(r.stdout).toContain("outer");
    expect(r.stdout).toContain("PIN-RO");
    expect(r.stdout).toContain("NO-MV");
  });

  it("commands that only write ordinary files keep the container", async () => {
    const first = await run("true");
    const write = await run("echo new > new.txt && mkdir -p w/x && echo y > w/x/f && echo z > app/config/plain.txt && rm new.txt && echo ok");
    expect(write.out).toContain("ok");
    const again = await run(look);
    expect([write.container, again.container]).toEqual([first.container, first.container]);
    expect(await backend.containerIds()).toHaveLength(1);
  });

  it("a .env made on the host after the container started is hidden from the next command, which gets a new container", async () => {
    const before = await run("true");
    writeTree(base, { "project/later/.env": secret("LATER"), "project/.env.prod": secret("PROD") });
    own();
    const after = await run(look);
    expect(after.container).not.toBe(before.container);
    // The old container had nothing running: it is gone.
    expect(await backend.containerIds()).toHaveLength(1);
  });

  it("a host process renaming a masked file's directory, or the file itself, between commands shows nothing", async () => {
    // The directory holding a masked file (a pin in the container: the mount moves with it on the host).
    renameSync(join(root, "app", "config"), join(root, "app", "cfg"));
    await run(`${look}; ls -a app/cfg`);
    // The file itself, to another matching name, and a new secret at its old name.
    renameSync(join(root, ".env"), join(root, ".env.bak"));
    writeFileSync(join(root, ".env"), secret("NEW-ENV"));
    await run(look);
    // Replaced in one rename, as editors save (the mount over the old file is detached on the host's side).
    writeFileSync(join(root, ".env.tmp-save"), secret("SAVED"));
    renameSync(join(root, ".env.tmp-save"), join(root, ".env"));
    await run(look);
    // Removed and made again (the same mask set: only the check in place sees it).
    unlinkSync(join(root, ".env.prod"));
    writeFileSync(join(root, ".env.prod"), secret("AGAIN"));
    await run(look);
  });

  it("a command in the container can neither move nor remove a masked file or the directories above it", async () => {
    const { out } = await run("for p in .env .ssh .ssh/id_rsa app/cfg app/cfg/.env.local later; do mv $p $p-moved 2>&1 || echo NO-MV:$p; done; rm -f .env 2>&1 || echo NO-RM; rm -rf later 2>&1; ls -a later");
    for (const p of [".env", ".ssh/id_rsa", "app/cfg", "app/cfg/.env.local", "later"]) expect(out).toContain(`NO-MV:${p}`);
    expect(out).toContain("NO-RM");
    for (const p of [".env", ".ssh/id_rsa", "app/cfg/.env.local", "later/.env"]) expect(secrets).toContain(readFileSync(join(root, p), "utf8").trim());
    expect(existsSync(join(root, "app", "cfg-moved"))).toBe(false);
  });

  it("more matches in one directory than can be mounted one by one: the directory is hidden whole (fail closed)", async () => {
    writeTree(base, Object.fromEntries(Array.from({ length: 300 }, (_, i) => [`project/keys/k${i}.pem`, i === 7 ? secret("PEM") : "x\n"])));
    writeTree(base, { "project/keys/readme.txt": "visible once checked\n" });
    own();
    const { out } = await run("ls -A keys | wc -l; cat keys/k7.pem keys/readme.txt 2>&1; touch keys/new 2>&1 || echo KEYS-RO");
    expect(out.split("\n")[0]!.trim()).toBe("0");
    expect(out).toContain("KEYS-RO");
  });

  it("a host process exchanging a directory holding a .env with a plain one while commands start: no secret shows", async () => {
    writeTree(base, { "project/race/a/.env": secret("RACE"), "project/race/b/plain.txt": "PLAIN\n" });
    own();
    // Bursts of renameat2(RENAME_EXCHANGE) from the host (not confined by any container's pins),
    // with pauses that let scans and checks through (test/exec/native/deny-race.test.ts).
    const code = `import ctypes, os, random, time\nlibc = ctypes.CDLL(None, use_errno=True)\nos.chdir(${JSON.stringify(join(root, "race"))})\nn = 0\nend = time.time() + 120\nwhile time.time() < end:\n  for _ in range(random.randint(1, 200)):\n    n += libc.renameat2(-100, b"a", -100, b"b", 2) == 0\n  open("../swaps.txt", "w").write(str(n))\n  time.sleep(random.random() * 0.3)`;
    const swapper = spawn("python3", ["-c", code], { stdio: "ignore" });
    let ran = 0;
    let refused = 0;
    try {
      for (let i = 0; i < TRIES; i++) {
        const r = await backend.run(req("cat race/a/.env race/b/.env race/a/plain.txt race/b/plain.txt 2>/dev/null; true")).catch((err: unknown) => {
          refused++;
          return { stdout: "", stderr: String(err) };
        });
        for (const x of secrets) expect(r.stdout + r.stderr).not.toContain(x);
        if (r.stdout.includes("PLAIN")) ran++;
      }
    } finally {
      swapper.kill("SIGKILL");
    }
    const swaps = Number(readFileSync(join(root, "swaps.txt"), "utf8"));
    console.log(`docker deny race (host exchanges): ${TRIES} tries, ${ran} ran, ${refused} refused, 0 leaks, ${swaps} exchanges, ${(await backend.containerIds()).length} container(s) now`);
    expect(swaps).toBeGreaterThan(0);
    expect(ran, "commands still run while the exchanges go on").toBeGreaterThan(0);
    // The secret is intact in one of them (a mask that landed in the other directory of a refused
    // container may have left an empty .env there: the runtime creates missing mount points).
    const left = ["a", "b"].map((d) => join(root, "race", d, ".env")).filter((f) => existsSync(f)).map((f) => readFileSync(f, "utf8").trim());
    expect(left.filter((x) => secrets.includes(x))).toHaveLength(1);
  }, 120_000);

  it("a background command keeps the container it started in until it ends; later commands get a new one", async () => {
    const bg = await backend.start(req("hostname; cat .env 2>&1; sleep 30"));
    writeTree(base, { "project/sub/.env": secret("BG-LATER") });
    own();
    const next = await run(look);
    const both = await backend.containerIds();
    expect(both).toHaveLength(2);
    await bg.kill("SIGKILL");
    const r = await bg.done;
    for (const s of secrets) expect(r.stdout).not.toContain(s);
    expect(r.stdout.split("\n")[0]).not.toBe(next.container);
    for (let i = 0; i < 50 && (await backend.containerIds()).length > 1; i++) await new Promise((res) => setTimeout(res, 100));
    expect(await backend.containerIds()).toHaveLength(1);
  });
});
