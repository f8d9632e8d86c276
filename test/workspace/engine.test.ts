import { spawnSync } from "node:child_process";
import { closeSync, constants, existsSync, mkdirSync, openSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { listWorkspaces, openWorkspace, type WorkspaceHandle } from "../../src/workspace/index.js";
import { makeTempDir, removeDir } from "../support/tree.js";
import { mountsMentioning, plain, runInside, snapshot } from "./helpers.js";

let dir: string;
let root: string;
let state: string;

beforeAll(() => {
  dir = makeTempDir("warden-ws-engine-");
  root = join(dir, "proj");
  state = join(dir, "state");
  mkdirSync(join(root, "src"), { recursive: true });
  writeFileSync(join(root, "src", "a.txt"), "original\n");
  writeFileSync(join(root, "keep.txt"), "keep\n");
});
afterAll(() => removeDir(dir));

/** bubblewrap's view: the merged root bound by descriptor at the root's own path, nothing else writable. */
function bwrapInside(h: WorkspaceHandle, script: string): { status: number | null; stdout: string; stderr: string } {
  const fd = openSync(h.merged[0]!.viaProc, constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW);
  try {
    const [cmd, ...enter] = h.enterArgv();
    const args = [
      ...enter,
      "bwrap", "--die-with-parent", "--unshare-pid", "--unshare-net", "--new-session",
      "--ro-bind", "/usr", "/usr", "--symlink", "usr/bin", "/bin", "--symlink", "usr/lib", "/lib", "--symlink", "usr/lib64", "/lib64",
      "--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp",
      "--bind-fd", "3", root, "--chdir", root,
      "--", "/bin/sh", "-ec", script,
    ];
    const r = spawnSync(cmd!, args, { stdio: ["ignore", "pipe", "pipe", fd], encoding: "utf8" });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
  } finally {
    closeSync(fd);
  }
}

describe("openWorkspace", () => {
  it("mounts the merged view in the holder's namespace; bubblewrap there, bound by descriptor, sees it and writes only to the upper layer", async () => {
    const before = plain(snapshot(root));
    const h = await openWorkspace({ stateDir: state, name: "bw", roots: [root] });
    try {
      expect(h.merged[0]).toMatchObject({ root, mergedPathInNamespace: root, viaProc: `/proc/${h.holderPid}/root${root}` });
      h.verify();
      const r = bwrapInside(h, "cat src/a.txt; echo changed > src/a.txt; echo new > new.txt; rm keep.txt; grep ' overlay ' /proc/self/mountinfo | grep -c \" $PWD \"");
      expect(r.stderr).toBe("");
      expect(r.status).toBe(0);
      expect(r.stdout).toBe("original\n1\n");
      // The writes are in the upper layer and in the merged view, never in the real tree.
      expect(plain(snapshot(root))).toEqual(before);
      const upper = h.merged[0]!.upperDir;
      expect(readFileSync(join(upper, "src", "a.txt"), "utf8")).toBe("changed\n");
      expect(readFileSync(join(upper, "new.txt"), "utf8")).toBe("new\n");
      expect(readFileSync(join(h.merged[0]!.viaProc, "src", "a.txt"), "utf8")).toBe("changed\n");
      expect(existsSync(join(h.merged[0]!.viaProc, "keep.txt"))).toBe(false);
      // A program entering without bubblewrap sees the same view at the root's own path.
      expect(runInside(h, `cat '${root}/src/a.txt'; ls '${root}'`)).toBe("changed\nnew.txt\nsrc\n");
      // The host's mount table never shows the overlay.
      expect(readFileSync("/proc/self/mountinfo", "utf8")).not.toContain(h.dir);
      expect(listWorkspaces({ stateDir: state }).find((w) => w.name === "bw")).toMatchObject({ state: "live", holderPid: h.holderPid });
    } finally {
      await h.close();
    }
    expect(mountsMentioning(h.dir)).toEqual([]);
    expect(listWorkspaces({ stateDir: state }).find((w) => w.name === "bw")).toMatchObject({ state: "closed", holderPid: null });
  });

  it("reopens a closed workspace with its changes, and refuses a second opener while it is live", async () => {
    const h = await openWorkspace({ stateDir: state, name: "bw", roots: [root] });
    try {
      expect(readFileSync(join(h.merged[0]!.viaProc, "src", "a.txt"), "utf8")).toBe("changed\n");
      await expect(openWorkspace({ stateDir: state, name: "bw", roots: [root] })).rejects.toThrow(`workspace bw is in use: it is live (mounted by holder pid ${h.holderPid})`);
      expect(h.alive()).toBe(true);
    } finally {
      await h.close();
    }
    expect(h.alive()).toBe(false);
  });

  it("keeps two workspaces over one root apart", async () => {
    const [a, b] = await Promise.all([
      openWorkspace({ stateDir: state, name: "left", roots: [root] }),
      openWorkspace({ stateDir: state, name: "right", roots: [root] }),
    ]);
    try {
      runInside(a!, `echo left > '${root}/side.txt'`);
      runInside(b!, `echo right > '${root}/side.txt'`);
      expect(readFileSync(join(a!.merged[0]!.viaProc, "side.txt"), "utf8")).toBe("left\n");
      expect(readFileSync(join(b!.merged[0]!.viaProc, "side.txt"), "utf8")).toBe("right\n");
      expect(existsSync(join(root, "side.txt"))).toBe(false);
    } finally {
      await Promise.all([a!.close(), b!.close()]);
    }
  });

  it("covers several roots, each with its own layer", async () => {
    const second = join(dir, "second");
    mkdirSync(second);
    writeFileSync(join(second, "s.txt"), "s\n");
    const h = await openWorkspace({ stateDir: state, name: "two-roots", roots: [root, second] });
    try {
      runInside(h, `echo 2 >> '${second}/s.txt'; echo 1 > '${root}/one.txt'`);
      expect(readdirSync(h.merged[1]!.upperDir)).toEqual(["s.txt"]);
      expect(readdirSync(h.merged[0]!.upperDir)).toEqual(["one.txt"]);
      expect(readFileSync(join(second, "s.txt"), "utf8")).toBe("s\n");
    } finally {
      await h.close();
    }
  });
});
