import { spawnSync } from "node:child_process";
import { fstatSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, test } from "vitest";
import { closeHeld } from "../../../src/config/held-roots.js";
import { mergedRootOpener } from "../../../src/config/merged-roots.js";
import type { HeldDir } from "../../../src/policy/roots.js";
import { createSandbox, type Sandbox } from "../../../src/sandbox/index.js";
import { HostDirectory } from "../../../src/sandbox/host/host-directory.js";
import { HostFile } from "../../../src/sandbox/host/host-file.js";
import { mergedRootsOf } from "../../../src/server/overlay-mode.js";
import { checkpointWorkspace, openWorkspace, type WorkspaceHandle } from "../../../src/workspace/index.js";
import { requireBinary } from "../../support/engines/require-binary.js";
import { tempTree } from "../helpers.js";
import { errName, Harness, listNames, readToEnd } from "./harness.js";

/*
 * The lower twin (sandbox/host/lower-twin.ts): in a kernel-overlayfs workspace, a read-only run
 * opens a listed file no layer holds straight from the lower layer, and everything else through the
 * merged view. Real workspaces (a holder, overlayfs in its namespace), changes made by a shell inside
 * the namespace as a command would make them. Required: every file reads exactly as the merged view
 * shows it (edited, deleted, replaced, a directory removed and made again, a frozen checkpoint layer
 * below the upper); the lower layer is really used for the files no layer holds (their descriptor is
 * on the real tree's device); nothing outside the root ever comes out.
 */

const CANARY = "TWIN-CANARY-81f3";
const t = tempTree("warden-twin-");
const outside = join(t.dir, "outside");
let n = 0;

beforeAll(() => {
  requireBinary("nsenter", "util-linux");
  mkdirSync(outside);
  writeFileSync(join(outside, "secret.txt"), `MARK ${CANARY}\n`);
});
afterAll(() => t.cleanup());

/** A fresh real tree: files at the top, in a directory, two levels down, and in a directory that will be replaced. */
function makeTree(): string {
  const root = join(t.dir, `root${n++}`);
  const files: Record<string, string> = {
    "top.txt": "MARK top lower\n",
    "edited.txt": "MARK edited lower\n",
    "gone.txt": "MARK gone lower\n",
    "a/one.txt": "MARK a/one lower\n",
    "a/edited.txt": "MARK a/edited lower\n",
    "a/b/deep.txt": "MARK a/b/deep lower\n",
    "a/b/gone-too.txt": "MARK a/b/gone-too lower\n",
    "pure/p.txt": "MARK pure/p lower\n",
    "pure/q/r.txt": "MARK pure/q/r lower\n",
    "redo/x.txt": "MARK redo/x lower\n",
    "redo/y.txt": "MARK redo/y lower\n",
  };
  for (const [rel, body] of Object.entries(files)) {
    mkdirSync(join(root, rel, ".."), { recursive: true });
    writeFileSync(join(root, rel), body);
  }
  return root;
}

/** Runs a shell script inside the workspace's namespace, in the root's merged view (as a command would). */
function inView(ws: WorkspaceHandle, root: string, script: string): void {
  const [file, ...pre] = ws.enterArgv();
  const r = spawnSync(file!, [...pre, "/bin/sh", "-c", `cd "$1" && ${script}`, "sh", root], { encoding: "utf8" });
  expect(r.status, r.stderr).toBe(0);
}

/** The agent's changes: edits (copy-ups), a deletion, a new file and directory, a directory replaced by a new one of the same name. */
const CHANGES = [
  "printf 'MARK edited upper\\n' > edited.txt",
  "rm gone.txt",
  "printf 'MARK new upper\\n' > new.txt",
  "printf 'MARK a/edited upper\\n' > a/edited.txt",
  "printf 'MARK a/added upper\\n' > a/added.txt && rm a/b/gone-too.txt",
  "mkdir fresh && printf 'MARK fresh/f upper\\n' > fresh/f.txt",
  "rm -rf redo && mkdir redo && printf 'MARK redo/x upper\\n' > redo/x.txt",
  `ln -s ${outside}/secret.txt escape.txt`,
  `ln -s ${outside} escape-dir`,
].join(" && ");

/** What the merged view holds after CHANGES, file by file (read from inside the namespace). */
const EXPECTED: Record<string, string | null> = {
  "top.txt": "MARK top lower\n",
  "edited.txt": "MARK edited upper\n",
  "gone.txt": null,
  "new.txt": "MARK new upper\n",
  "a/one.txt": "MARK a/one lower\n",
  "a/edited.txt": "MARK a/edited upper\n",
  "a/added.txt": "MARK a/added upper\n",
  "a/b/gone-too.txt": null,
  "a/b/deep.txt": "MARK a/b/deep lower\n",
  "pure/p.txt": "MARK pure/p lower\n",
  "pure/q/r.txt": "MARK pure/q/r lower\n",
  "fresh/f.txt": "MARK fresh/f upper\n",
  "redo/x.txt": "MARK redo/x upper\n",
  "redo/y.txt": null,
};
/** Files no layer holds after CHANGES: the twin opens these in the lower layer. */
const LOWER_OWNED = ["top.txt", "a/one.txt", "a/b/deep.txt", "pure/p.txt", "pure/q/r.txt"];

interface Opened {
  code: string;
  data?: string;
  /** Device of the descriptor the run read from. */
  dev?: number;
}

/** Opens `rel` the way the search module does: list each directory on the way, open each component by name, read the file. */
function readListed(h: Harness, rel: string, from: HostDirectory = h.root): Opened {
  const parts = rel.split("/");
  const dirs: HostDirectory[] = [];
  let dir = from;
  try {
    for (const [i, name] of parts.entries()) {
      const names = listNames(dir);
      if (!names.includes(name)) return { code: "ENOENT" };
      const r = h.open(name, i < parts.length - 1 ? { dir: true } : {}, dir);
      if (r.ret !== 0 || !r.fd_obj) return { code: errName(r.ret) };
      if (r.fd_obj instanceof HostDirectory) {
        dirs.push(r.fd_obj);
        dir = r.fd_obj;
        continue;
      }
      const file = r.fd_obj as HostFile;
      const dev = fstatSync(file.fd).dev;
      const read = readToEnd(file);
      return read.code === "OK" ? { ...read, dev } : read;
    }
    return { code: "DIR" };
  } finally {
    for (const d of dirs) d.fd_close();
  }
}

describe("lower twin: reads of files no layer holds go to the lower layer, and read exactly as the merged view", () => {
  let ws: WorkspaceHandle | undefined;
  const held: HeldDir[] = [];
  afterEach(async () => {
    for (const h of held.splice(0)) closeHeld(h);
    await ws?.close();
    ws = undefined;
  });

  async function open(root: string, name: string): Promise<{ ws: WorkspaceHandle; held: HeldDir }> {
    ws = await openWorkspace({ stateDir: join(t.dir, `state-${name}`), name, roots: [root], driver: "kernel" });
    const dir = mergedRootOpener(mergedRootsOf(ws, [root]))(root);
    held.push(dir);
    return { ws, held: dir };
  }

  test("after edits, deletions, new files and a directory made again: every file reads as the merged view shows it, the untouched ones from the real tree's device", async () => {
    const root = makeTree();
    const realDev = statSync(root).dev;
    const { ws: w, held: dir } = await open(root, "edits");
    expect(dir.lower, "the kernel driver's root is held with its lower layer").toBeDefined();
    inView(w, root, CHANGES);
    const h = new Harness({ preopens: [{ hostPath: root, writable: false, held: dir }], denyGlobs: [] });
    const plain = new Harness({ preopens: [{ hostPath: root, writable: false, held: { ...dir, lower: undefined } }], denyGlobs: [] });
    for (const [rel, want] of Object.entries(EXPECTED)) {
      const inNs = join(w.merged[0]!.viaProc, rel);
      const merged = (() => {
        try {
          return readFileSync(inNs, "utf8");
        } catch {
          return null;
        }
      })();
      expect(merged, `${rel} in the merged view`).toBe(want);
      const got = readListed(h, rel);
      const without = readListed(plain, rel);
      expect(got.code === "OK" ? got.data : null, `${rel} through the twin`).toBe(want);
      expect(without.code === "OK" ? without.data : null, `${rel} through the merged view only`).toBe(want);
      if (want !== null) {
        // The lower layer really is used for what no layer holds, and only for that.
        expect(got.dev === realDev, `${rel} read from the real tree's device`).toBe(LOWER_OWNED.includes(rel));
        expect(without.dev === realDev, `${rel} without the twin`).toBe(false);
      }
    }
    // A directory opened by a walk (the path a search starts from), not from a listing, gets its twin too.
    for (const [dirPath, name, lowerOwned] of [
      [".", "top.txt", true],
      ["a", "one.txt", true],
      ["a", "edited.txt", false],
      ["a/b", "deep.txt", true],
      ["pure/q", "r.txt", true],
      ["redo", "x.txt", false],
      ["fresh", "f.txt", false],
    ] as const) {
      const opened = h.open(dirPath, { dir: true });
      expect(opened.ret, dirPath).toBe(0);
      const walked = opened.fd_obj as HostDirectory;
      const got = readListed(h, name, walked);
      expect(got.data, `${dirPath}/${name}`).toBe(EXPECTED[dirPath === "." ? name : `${dirPath}/${name}`]);
      expect(got.dev === realDev, `${dirPath}/${name} read from the real tree's device`).toBe(lowerOwned);
      walked.fd_close();
    }
    // Symlinks made in the view are never followed out of the root, with or without the twin.
    for (const rel of ["escape.txt", "escape-dir/secret.txt"]) {
      const got = readListed(h, rel);
      expect(got.data ?? "").not.toContain(CANARY);
    }
    // Left for the end of the run: the root's twin and the layers (reopened once per run).
    expect(h.close(), "descriptors left open").toBe(1 + dir.lower!.layers.length);
    expect(plain.close(), "descriptors left open").toBe(0);
  });

  test("a frozen checkpoint layer below the upper one shadows the lower layer too", async () => {
    const root = makeTree();
    const state = join(t.dir, "state-frozen");
    let first: WorkspaceHandle | undefined = await openWorkspace({ stateDir: state, name: "frozen", roots: [root], driver: "kernel" });
    inView(first, root, "printf 'MARK edited checkpoint\\n' > edited.txt && printf 'MARK a/one checkpoint\\n' > a/one.txt && rm pure/p.txt");
    await first.close();
    first = undefined;
    checkpointWorkspace({ stateDir: state, name: "frozen", label: "c1" });
    ws = await openWorkspace({ stateDir: state, name: "frozen", roots: [root], driver: "kernel" });
    const dir = mergedRootOpener(mergedRootsOf(ws, [root]))(root);
    held.push(dir);
    expect(dir.lower?.layers.length, "the upper layer and the checkpoint").toBe(2);
    inView(ws, root, "printf 'MARK top upper\\n' > top.txt");
    const h = new Harness({ preopens: [{ hostPath: root, writable: false, held: dir }], denyGlobs: [] });
    const realDev = statSync(root).dev;
    expect(readListed(h, "edited.txt").data).toBe("MARK edited checkpoint\n");
    expect(readListed(h, "a/one.txt").data).toBe("MARK a/one checkpoint\n");
    expect(readListed(h, "pure/p.txt").code).toBe("ENOENT");
    expect(readListed(h, "top.txt").data).toBe("MARK top upper\n");
    // Below directories the checkpoint holds, reads go through the merged view (overlayfs gives such a
    // directory the checkpoint's inode, so it gets no twin); an untouched directory keeps its twin.
    expect(readListed(h, "a/b/deep.txt").data).toBe("MARK a/b/deep lower\n");
    expect(readListed(h, "pure/q/r.txt").data).toBe("MARK pure/q/r lower\n");
    const untouched = readListed(h, "redo/y.txt");
    expect(untouched.data).toBe("MARK redo/y lower\n");
    expect(untouched.dev).toBe(realDev);
    expect(h.close()).toBe(1 + 2);
  });

  test("a run that can write never reads from the lower layer", async () => {
    const root = makeTree();
    const { held: dir } = await open(root, "writable");
    const h = new Harness({ preopens: [{ hostPath: root, writable: true, held: dir }], denyGlobs: [] });
    const got = readListed(h, "pure/p.txt");
    expect(got.data).toBe("MARK pure/p lower\n");
    expect(got.dev).not.toBe(statSync(root).dev);
    expect(h.ctx.doors[0]!.lower).toBeUndefined();
    expect(h.close()).toBe(0);
  });

  test("held layers that are not the ones held (a reused descriptor number, a wrong identity): everything reads through the merged view", async () => {
    const root = makeTree();
    const { held: dir } = await open(root, "identity");
    const realDev = statSync(root).dev;
    const wrongDir: HeldDir = { ...dir, lower: { ...dir.lower!, dir: { ...dir.lower!.dir, ino: "1" } } };
    const wrongLayer: HeldDir = { ...dir, lower: { ...dir.lower!, layers: dir.lower!.layers.map((l) => ({ ...l, fd: dir.fd })) } };
    for (const bad of [wrongDir, wrongLayer]) {
      const h = new Harness({ preopens: [{ hostPath: root, writable: false, held: bad }], denyGlobs: [] });
      const got = readListed(h, "a/b/deep.txt");
      expect(got.data).toBe("MARK a/b/deep lower\n");
      expect(got.dev).not.toBe(realDev);
      expect(h.close()).toBe(0);
    }
  });

  test("a directory a layer holds, whose lower twin is not the merged directory's (another inode), gets no twin", async () => {
    const root = makeTree();
    const { ws: w, held: dir } = await open(root, "inode");
    // "a" copied up: the upper layer holds it, so its twin must pair with the merged "a" by inode.
    inView(w, root, "printf 'MARK a/one upper\\n' > a/one.txt");
    const h = new Harness({ preopens: [{ hostPath: root, writable: false, held: dir }], denyGlobs: [] });
    listNames(h.root);
    const lower = h.ctx.doors[0]!.lower!;
    const rootTwin = lower.root()!;
    expect(rootTwin).not.toBeNull();
    const a = h.open("a", { dir: true });
    const pure = h.open("pure", { dir: true });
    // The twin of "a" must be refused when paired with the merged "pure" directory.
    expect(rootTwin.child("a", (a.fd_obj as HostDirectory).fd)).not.toBeNull(); // left open until the run ends
    expect(rootTwin.child("a", (pure.fd_obj as HostDirectory).fd)).toBeNull();
    a.fd_obj!.fd_close();
    pure.fd_obj!.fd_close();
    // The root's twin and the layers (reopened once per run), and the one child twin kept above.
    expect(h.close()).toBe(1 + dir.lower!.layers.length + 1);
  });
});

describe("lower twin through the worker pool and the real search module", () => {
  let sandbox: Sandbox;
  beforeAll(() => {
    sandbox = createSandbox({ workers: 2 });
  });
  afterAll(async () => {
    await sandbox.close();
  });

  test("a content search finds exactly what the merged view holds", async () => {
    const root = makeTree();
    const ws = await openWorkspace({ stateDir: join(t.dir, "state-search"), name: "search", roots: [root], driver: "kernel" });
    const dir = mergedRootOpener(mergedRootsOf(ws, [root]))(root);
    try {
      inView(ws, root, CHANGES);
      const search = async (held: HeldDir) => {
        const r = await sandbox.run({ module: "search", args: ["--content=MARK", "--no-gitignore", root], scope: { preopens: [{ hostPath: root, writable: false, held }], denyGlobs: [] }, deadlineMs: 10_000, maxStdoutBytes: 1 << 20 });
        expect(r.exitCode, r.stderr).toBe(0);
        const fields = Buffer.from(r.stdout).toString("utf8").split("\0");
        const lines: string[] = [];
        for (let i = 0; i + 2 < fields.length; i += 3) lines.push(`${fields[i]}:${fields[i + 2]}`);
        return lines.sort();
      };
      const want = Object.entries(EXPECTED)
        .filter(([, v]) => v !== null)
        .map(([k, v]) => `${k}:${v!.trimEnd()}`)
        .sort();
      expect(await search(dir)).toEqual(want);
      expect(await search({ ...dir, lower: undefined })).toEqual(want);
    } finally {
      closeHeld(dir);
      await ws.close();
    }
  });

  test("files rewritten and swapped for outside symlinks in the view while searches run: each read is the old or the new file, never outside, and a later search sees the end state", async () => {
    const root = join(t.dir, `root${n++}`);
    const NAMES = 400;
    mkdirSync(join(root, "race"), { recursive: true });
    for (let i = 0; i < NAMES; i++) writeFileSync(join(root, "race", `f${i}`), `MARK old f${i}\n`);
    const ws = await openWorkspace({ stateDir: join(t.dir, "state-race"), name: "race", roots: [root], driver: "kernel" });
    const dir = mergedRootOpener(mergedRootsOf(ws, [root]))(root);
    const stop = join(t.dir, "STOP-race");
    // In the view, one name at a time (about one a millisecond, so searches meet every stage): the
    // file becomes a symlink to the outside canary, then a new file made beside it and renamed over it.
    const flipper = `
      const fs = require("fs");
      const [dir, target, stop, n] = process.argv.slice(1);
      let flips = 0;
      process.send("ready");
      for (let i = 0; i < Number(n) && !fs.existsSync(stop); i++) {
        const p = dir + "/f" + i;
        fs.rmSync(p, { force: true });
        fs.symlinkSync(target, p);
        fs.writeFileSync(p + ".tmp", "MARK new f" + i + "\\n");
        fs.renameSync(p + ".tmp", p);
        flips++;
        const until = Date.now() + 1;
        while (Date.now() < until);
      }
      console.log(flips);`;
    const scope = { preopens: [{ hostPath: root, writable: false, held: dir }], denyGlobs: [] };
    const lines = async () => {
      const r = await sandbox.run({ module: "search", args: ["--content=MARK", "--no-gitignore", root], scope, deadlineMs: 10_000, maxStdoutBytes: 1 << 20 });
      expect(r.exitCode, r.stderr).toBe(0);
      const fields = Buffer.from(r.stdout).toString("utf8").split("\0");
      const got: string[] = [];
      for (let i = 0; i + 2 < fields.length; i += 3) got.push(`${fields[i]}:${fields[i + 2]}`);
      return got;
    };
    // Warm: the first search of a worker compiles the module.
    expect((await lines()).length).toBe(NAMES);
    const [file, ...pre] = [...ws.enterArgv(), process.execPath];
    const { spawn } = await import("node:child_process");
    const child = spawn(file!, [...pre, "-e", flipper, join(root, "race"), join(outside, "secret.txt"), stop, String(NAMES)], { stdio: ["ignore", "pipe", "inherit", "ipc"] });
    let out = "";
    child.stdout!.on("data", (d) => (out += d));
    const exited = new Promise((resolve) => child.once("exit", resolve));
    await new Promise((resolve) => child.once("message", resolve));
    let reads = 0;
    let oldSeen = 0;
    let newSeen = 0;
    try {
      while (child.exitCode === null) {
        for (const line of await lines()) {
          reads++;
          expect(line).not.toContain(CANARY);
          const m = /^race\/f(\d+)(\.tmp)?:MARK (old|new) f(\d+)$/.exec(line);
          expect(m, line).not.toBeNull();
          expect(m![1]).toBe(m![4]);
          if (m![3] === "old") oldSeen++;
          else newSeen++;
        }
      }
    } finally {
      writeFileSync(stop, "");
      await exited;
    }
    console.log(`[lower twin race] ${reads} lines read: ${oldSeen} old, ${newSeen} new; flipper ${out.trim()} flips`);
    // The race was real: searches read both untouched files (from the lower layer) and rewritten ones.
    expect(Number(out)).toBe(NAMES);
    expect(oldSeen).toBeGreaterThan(0);
    expect(newSeen).toBeGreaterThan(0);
    // Once the writes are done, a new search sees every file as the view has it.
    const end = (await lines()).sort();
    expect(end).toEqual(Array.from({ length: NAMES }, (_, i) => `race/f${i}:MARK new f${i}`).sort());
    closeHeld(dir);
    await ws.close();
  });
});
