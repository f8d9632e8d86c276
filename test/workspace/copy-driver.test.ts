import { execFileSync, spawnSync } from "node:child_process";
import { chmodSync, chownSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { applyWorkspace, diffWorkspace, listWorkspaces, openWorkspace, resetWorkspace, type WorkspaceHandle } from "../../src/workspace/index.js";
import { makeTempDir, removeDir, treeDigest } from "../support/tree.js";
import { pathWithout, plain, runInside, snapshot } from "./helpers.js";

// The copy driver's own promises; the change model, patch, checkpoints and crashes are in the suites
// run under every driver (compose, lifecycle, crash: WS_DRIVERS).
let dir: string;
let state: string;

beforeAll(() => {
  dir = makeTempDir("warden-ws-copy-");
  state = join(dir, "state");
});
afterAll(() => removeDir(dir));

function tree(name: string, files: Record<string, string>): string {
  const root = join(dir, name);
  for (const [rel, text] of Object.entries(files)) {
    mkdirSync(join(root, rel, ".."), { recursive: true });
    writeFileSync(join(root, rel), text);
  }
  return root;
}

const paths = (name: string): string[] => diffWorkspace({ stateDir: state, name }).roots[0]!.changes.map((c) => `${c.status[0]} ${c.path}`);

describe("copy driver", () => {
  // No overlay here: the kernel's mount refuses (the test hook gives it an option it does not know)
  // and fuse-overlayfs is not on PATH.
  let noOverlay: NodeJS.ProcessEnv;
  beforeAll(() => {
    noOverlay = { ...process.env, PATH: pathWithout(dir, "fuse-overlayfs"), WARDEN_OVERLAY_TEST_REFUSE: "kernel" };
  });

  it("is auto's last resort when no overlay mounts, and says why", async () => {
    const root = tree("auto", { "a.txt": "a\n", "src/b.c": "b\n" });
    const before = treeDigest(root);
    const h = await openWorkspace({ stateDir: state, name: "auto", roots: [root], driver: "auto", env: noOverlay });
    try {
      expect(h.driver).toBe("copy");
      expect(h.passedOver.map((a) => a.driver)).toEqual(["kernel", "fuse"]);
      expect(h.passedOver[0]!.reason).toMatch(/kernel overlayfs refused/);
      expect(h.passedOver[1]!.reason).toMatch(/fuse-overlayfs is not installed/);
      // The root's path in the namespace is the copy: another directory, the same content.
      const real = lstatSync(root, { bigint: true });
      const view = lstatSync(h.merged[0]!.viaProc, { bigint: true });
      expect(view.ino === real.ino && view.dev === real.dev).toBe(false);
      expect(plain(snapshot(h.merged[0]!.viaProc))).toEqual(plain(snapshot(root)));
      runInside(h, `cd '${root}'; echo agent >> a.txt; rm src/b.c; mkdir -p new/deep; echo n > new/deep/f`);
      expect(treeDigest(root)).toBe(before); // the real tree untouched
      expect(paths("auto")).toEqual(["m a.txt", "a new", "a new/deep", "a new/deep/f", "d src/b.c"]);
      h.verify();
    } finally {
      await h.close();
    }
    expect(listWorkspaces({ stateDir: state }).find((w) => w.name === "auto")).toMatchObject({ driver: "copy", state: "closed", changedEntries: 5 });
  });

  it("says so, naming every driver and why, when none is possible; nothing is left behind", async () => {
    const root = tree("none", { "a.txt": "a\n" });
    const env = { ...noOverlay, WARDEN_OVERLAY_TEST_REFUSE: "kernel,copy" };
    await expect(openWorkspace({ stateDir: state, name: "none", roots: [root], driver: "auto", env })).rejects.toThrow(
      /no copy-on-write driver works here; tried kernel \(kernel overlayfs refused.*\); then fuse \(fuse-overlayfs is not installed.*\); then copy \(the copy driver's bind mount was refused/s,
    );
    expect(readdirSync(join(state, "workspaces")).filter((n) => n.startsWith("none") || n.includes("-none-"))).toEqual([]);
  });

  it("apply refuses, listing the paths, whatever changed in the real tree since the copy was taken; the same edit on both sides is no conflict", async () => {
    const root = tree("conflict", { "a.txt": "a\n", "b.txt": "b\n", "c.txt": "c\n", "early.txt": "v1\n", "same.txt": "v1\n", "gone.txt": "g\n", "d/x": "x\n" });
    const h = await openWorkspace({ stateDir: state, name: "conflict", roots: [root], driver: "copy" });
    try {
      writeFileSync(join(root, "early.txt"), "v2 by a human\n"); // after the copy: the workspace never saw it
      writeFileSync(join(root, "unrelated.txt"), "human only\n"); // not the workspace's change: not in its diff
      runInside(h, `cd '${root}'; echo A > a.txt; echo B > b.txt; rm c.txt gone.txt; echo agent >> early.txt; echo same > same.txt; echo new > d/new`);
      writeFileSync(join(root, "a.txt"), "edited by a human\n");
      writeFileSync(join(root, "c.txt"), "kept by a human\n"); // the workspace deletes it: the edit would be lost
      writeFileSync(join(root, "same.txt"), "same\n");
      rmSync(join(root, "gone.txt")); // deleted on both sides
      rmSync(join(root, "d"), { recursive: true }); // the directory the workspace adds to is gone
    } finally {
      await h.close();
    }
    expect(paths("conflict")).not.toContain("a unrelated.txt");
    const r = applyWorkspace({ stateDir: state, name: "conflict" });
    expect(r.applied).toBe(false);
    expect(r.conflicts.map((c) => c.path).sort()).toEqual(["a.txt", "c.txt", "d/new", "early.txt"]);
    expect(r.conflicts.find((c) => c.path === "d/new")!.reason).toMatch(/^d changed in the real tree since workspace conflict began/);
    expect(readFileSync(join(root, "b.txt"), "utf8")).toBe("b\n"); // nothing applied
    // Backdating the mtime does not hide a change: the ctime cannot be set back.
    utimesSync(join(root, "a.txt"), new Date(2000, 1, 1), new Date(2000, 1, 1));
    expect(applyWorkspace({ stateDir: state, name: "conflict" }).conflicts.map((c) => c.path)).toContain("a.txt");
    mkdirSync(join(root, "d"));
    expect(applyWorkspace({ stateDir: state, name: "conflict", force: true }).applied).toBe(true);
    expect(readFileSync(join(root, "a.txt"), "utf8")).toBe("A\n");
    expect(readFileSync(join(root, "d/new"), "utf8")).toBe("new\n");
    expect(existsSync(join(root, "c.txt"))).toBe(false);
    expect(readFileSync(join(root, "unrelated.txt"), "utf8")).toBe("human only\n"); // the human's own change survives
    expect(paths("conflict")).toEqual([]);
  });

  it("tells changed from touched: an mtime or a mode set back is no change, content written back the same is none", async () => {
    const root = tree("touch", { "t.txt": "same\n", "m.sh": "#!/bin/sh\n", "w.txt": "w\n", "big.bin": "x".repeat(100_000) });
    const h = await openWorkspace({ stateDir: state, name: "touch", roots: [root], driver: "copy" });
    try {
      runInside(h, `cd '${root}'; touch -d 2001-01-01 t.txt; chmod +x m.sh; chmod -x m.sh; printf 'w\\n' > w.txt; touch -r big.bin ref.tmp; printf y | dd of=big.bin bs=1 seek=5000 conv=notrunc 2>/dev/null; touch -r ref.tmp big.bin; rm ref.tmp`);
    } finally {
      await h.close();
    }
    // Same size, mtime set back: only the ctime (and the content) tell, and the diff reads them.
    expect(paths("touch")).toEqual(["m big.bin"]);
  });

  it("refuses a root holding a device by name; copies a FIFO as a FIFO", async () => {
    const root = tree("special", { "a.txt": "a\n" });
    execFileSync("mkfifo", [join(root, "pipe")]);
    const h = await openWorkspace({ stateDir: state, name: "special", roots: [root], driver: "copy" });
    try {
      expect(lstatSync(`${h.merged[0]!.viaProc}/pipe`).isFIFO()).toBe(true);
      expect(readFileSync(`${h.merged[0]!.viaProc}/a.txt`, "utf8")).toBe("a\n");
    } finally {
      await h.close();
    }
    expect(paths("special")).toEqual([]);
    if (process.geteuid?.() !== 0) return; // only root can make a device node to refuse
    const dev = tree("device", { "a.txt": "a\n" });
    execFileSync("mknod", [join(dev, "null-copy"), "c", "1", "3"]);
    await expect(openWorkspace({ stateDir: state, name: "device", roots: [dev], driver: "copy" })).rejects.toThrow(/root .*device holds device files \(null-copy\); the copy driver does not copy devices/);
    expect(existsSync(join(state, "workspaces", "device"))).toBe(false);
  });

  it("works for an unprivileged user (user + mount namespace, bubblewrap inside, by descriptor)", () => {
    const root = tree("nobody", { "a.txt": "real\n", "b.txt": "b\n" });
    const asRoot = process.geteuid?.() === 0;
    if (asRoot) for (const p of [dir, root, join(root, "a.txt"), join(root, "b.txt")]) chownSync(p, 65534, 65534);
    const argv = [process.execPath, join(import.meta.dirname, "fixtures", "unprivileged.mjs"), join(dir, "state-nobody"), root, "copy"];
    const r = asRoot
      ? spawnSync("setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", "--", ...argv], { encoding: "utf8", env: { ...process.env, HOME: dir } })
      : spawnSync(argv[0]!, argv.slice(1), { encoding: "utf8" });
    if (asRoot) chownSync(dir, 0, 0);
    expect(r.stderr).toBe("");
    const out = JSON.parse(r.stdout);
    expect(out).toMatchObject({ driver: "copy", bwrap: { status: 0 }, merged: "sandboxed\n", realA: "real\n", realB: true, upperA: "sandboxed\n" });
    expect(out.uid).not.toBe(0);
    expect(out.changes).toEqual(["modified a.txt", "deleted b.txt"]);
  });

  it("reset to the start copies the real tree again (as an overlay would show it now), with a new baseline", async () => {
    const root = tree("reset", { "a.txt": "a\n" });
    let h: WorkspaceHandle = await openWorkspace({ stateDir: state, name: "reset", roots: [root], driver: "copy" });
    runInside(h, `echo agent > '${root}/a.txt'`);
    await h.close();
    writeFileSync(join(root, "human.txt"), "h\n");
    chmodSync(join(root, "a.txt"), 0o600);
    expect(resetWorkspace({ stateDir: state, name: "reset" })).toEqual({ to: null });
    expect(paths("reset")).toEqual([]);
    h = await openWorkspace({ stateDir: state, name: "reset", roots: [root], driver: "copy" });
    try {
      expect(readFileSync(`${h.merged[0]!.viaProc}/human.txt`, "utf8")).toBe("h\n");
      expect(readFileSync(`${h.merged[0]!.viaProc}/a.txt`, "utf8")).toBe("a\n");
    } finally {
      await h.close();
    }
    // Only the current baseline and the upper's ids are kept.
    expect(readdirSync(join(state, "workspaces", "reset", "roots", "0", "copy")).sort()).toEqual([expect.stringMatching(/^baseline-/), expect.stringMatching(/^ids-/)]);
  });
});
