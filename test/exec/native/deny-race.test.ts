import { randomBytes } from "node:crypto";
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ExecRefusal } from "../../../src/exec/errors.js";
import { createRootIndex, startScan } from "../../../src/exec/native/deny-index.js";
import { compileDenyRules } from "../../../src/policy/path-rules.js";
import { createNativeBackend } from "../../../src/exec/native/index.js";
import type { ExecBackend } from "../../../src/exec/types.js";
import { DEFAULT_DENY_GLOBS } from "../../../src/policy/schema/filesystem.js";
import { cleanup, script, tempDir } from "../support.js";

/**
 * filesystem.deny under a rename race (red team, normal mode). The masks of a command are planned
 * from a scan made before bubblewrap mounts them; anything that can rename inside a root (a
 * background command, the user's editor, git) can move a matching file or directory between the
 * two. Each command must then either see every deny match masked or not start at all: the
 * directories that hold masks are bound with the identity the scan saw, and the gate finds them
 * unchanged (ctime) before the command's first instruction.
 *
 * The swapper exchanges two directories (renameat2 RENAME_EXCHANGE) as fast as it can, from the
 * host: it is not confined by the sandbox's pins, so it is the strongest mover there is. Each
 * try prints both directories' secrets; a canary in the output is a leak.
 */

const TRIES = Number(process.env.WARDEN_DENY_RACE_TRIES ?? 100);

function swapper(a: string, b: string, bursts = true): ChildProcess {
  if (!bursts) {
    const flat = `import ctypes, time\nlibc = ctypes.CDLL(None, use_errno=True)\nend = time.time() + 300\nwhile time.time() < end:\n  libc.renameat2(-100, ${JSON.stringify(a)}.encode(), -100, ${JSON.stringify(b)}.encode(), 2)`;
    return spawn("python3", ["-c", flat], { stdio: "ignore" });
  }
  // Bursts of exchanges with short pauses: a directory that never stops changing is hidden whole
  // (nothing to race), so the pauses let scans through and the masks meet the race.
  const code = `import ctypes, random, time\nlibc = ctypes.CDLL(None, use_errno=True)\nend = time.time() + 300\nwhile time.time() < end:\n  for _ in range(random.randint(1, 200)):\n    libc.renameat2(-100, ${JSON.stringify(a)}.encode(), -100, ${JSON.stringify(b)}.encode(), 2)\n  time.sleep(random.random() * 0.03)`;
  return spawn("python3", ["-c", code], { stdio: "ignore" });
}

/**
 * The secret is still there, once, untouched, and no file was made or emptied beside it: the masks
 * inside a root are attached by descriptor (mask-attach.test.ts), never bubblewrap's creat(). A
 * refused command may leave an empty directory (a pin's mount point bubblewrap made): never data.
 */
function secretsLeft(dir: string, subdirs: string[], secret: string): string[] {
  const found: string[] = [];
  for (const d of subdirs) {
    const p = join(dir, d, secret);
    if (!existsSync(p)) continue;
    if (statSync(p).isDirectory()) expect(readdirSync(p)).toEqual([]);
    else found.push(readFileSync(p, "utf8"));
  }
  return found;
}

interface Tally {
  ran: number;
  /** Ran and saw the plain file: the tree was shown, not hidden whole. */
  shown: number;
  refused: number;
  leaks: number;
  rules: Record<string, number>;
}

describe("the deny scan under a rename race never tears", () => {
  it("each scan masks the secret where it found it, or hides the way to it (never neither)", async () => {
    const dir = tempDir("deny-tear");
    const canary = `CANARY-${randomBytes(8).toString("hex")}`;
    mkdirSync(join(dir, "a"));
    mkdirSync(join(dir, "b"));
    writeFileSync(join(dir, "a", ".env"), `${canary}\n`);
    const before = statSync(join(dir, "a")).ino;
    const mover = swapper(join(dir, "a"), join(dir, "b"), false);
    while (statSync(join(dir, "a")).ino === before) await new Promise((r) => setTimeout(r, 5)); // swapping
    const index = createRootIndex();
    const rules = compileDenyRules(DEFAULT_DENY_GLOBS);
    let missed = 0;
    let masked = 0;
    try {
      for (let i = 0; i < 100; i++) {
        const scan = startScan(index, dir, rules, { maxDirs: 1000, maxMatchesPerDir: 256, racyMs: 1000 });
        await scan.done;
        const f = scan.found(Date.now());
        const covered = f.files.length > 0 || f.hidden.some((h) => h === "" || h === "a" || h === "b");
        if (!covered) missed++;
        if (f.files.length > 0) masked++;
      }
    } finally {
      mover.kill("SIGKILL");
      cleanup(dir);
    }
    console.log(`deny scan tear race: 100 scans, ${masked} masked the secret, ${100 - masked - missed} hid the way to it, ${missed} missed it`);
    expect(missed).toBe(0);
  });
});

describe("filesystem.deny masks under a rename race between the scan and the mounts", () => {
  let backend: ExecBackend;
  let root: string;
  const canary = `CANARY-${randomBytes(8).toString("hex")}`;

  beforeAll(() => {
    backend = createNativeBackend({ confinement: "bubblewrap" });
    root = tempDir("deny-race");
  });
  afterAll(async () => {
    await backend.close();
    cleanup(root);
  });

  async function race(dir: string, command: string, movers: [string, string]): Promise<Tally> {
    const t: Tally = { ran: 0, shown: 0, refused: 0, leaks: 0, rules: {} };
    const mover = swapper(join(dir, movers[0]), join(dir, movers[1]));
    try {
      for (let i = 0; i < TRIES; i++) {
        try {
          const r = await backend.run(script(dir, command, { denyGlobs: DEFAULT_DENY_GLOBS }));
          t.ran++;
          if (r.stdout.includes("PLAIN")) t.shown++;
          if ((r.stdout + r.stderr).includes(canary)) {
            t.leaks++;
            if (process.env.WARDEN_DENY_RACE_DEBUG) console.log("LEAK", JSON.stringify(r.stdout + r.stderr));
          }
        } catch (err) {
          if (!(err instanceof ExecRefusal)) throw err;
          t.refused++;
          t.rules[err.rule] = (t.rules[err.rule] ?? 0) + 1;
        }
      }
    } finally {
      mover.kill("SIGKILL");
    }
    console.log(`deny race (${movers.join(" <-> ")}): ${TRIES} tries, ${t.ran} ran (${t.shown} with the tree shown), ${t.refused} refused ${JSON.stringify(t.rules)}, ${t.leaks} leaks`);
    return t;
  }

  it("a directory holding a masked .env swapped with a plain one: the secret never shows", async () => {
    const dir = join(root, "file-mask");
    mkdirSync(join(dir, "a"), { recursive: true });
    mkdirSync(join(dir, "b"));
    writeFileSync(join(dir, "a", ".env"), `${canary}\n`);
    writeFileSync(join(dir, "b", "plain.txt"), "PLAIN\n");
    const t = await race(dir, "cat a/.env b/.env a/plain.txt b/plain.txt 2>/dev/null; true", ["a", "b"]);
    expect(t.leaks).toBe(0);
    expect(t.shown).toBeGreaterThan(0); // the race did not just refuse or hide everything
    expect(secretsLeft(dir, ["a", "b"], ".env")).toEqual([`${canary}\n`]);
  }, 600_000);

  it("a directory holding a masked directory (.ssh) swapped with a plain one: its key never shows", async () => {
    const dir = join(root, "dir-mask");
    mkdirSync(join(dir, "d1", ".ssh"), { recursive: true });
    mkdirSync(join(dir, "d2"));
    writeFileSync(join(dir, "d1", ".ssh", "config"), `${canary}\n`);
    writeFileSync(join(dir, "d2", "notes.txt"), "PLAIN\n");
    const t = await race(dir, "cat d1/.ssh/config d2/.ssh/config d1/notes.txt d2/notes.txt 2>/dev/null; true", ["d1", "d2"]);
    expect(t.leaks).toBe(0);
    expect(t.shown).toBeGreaterThan(0);
    expect(secretsLeft(dir, ["d1", "d2"], ".ssh/config")).toEqual([`${canary}\n`]);
  }, 600_000);

  it("a pinned directory two levels down swapped with a plain one: the secret never shows", async () => {
    const dir = join(root, "deep");
    mkdirSync(join(dir, "p", "q"), { recursive: true });
    mkdirSync(join(dir, "r", "q"), { recursive: true });
    writeFileSync(join(dir, "p", "q", "server.key"), `${canary}\n`);
    writeFileSync(join(dir, "r", "q", "plain.txt"), "PLAIN\n");
    const t = await race(dir, "cat p/q/server.key r/q/server.key p/q/plain.txt r/q/plain.txt 2>/dev/null; true", ["p", "r"]);
    expect(t.leaks).toBe(0);
    expect(t.shown).toBeGreaterThan(0);
  }, 600_000);
});
