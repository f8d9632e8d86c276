import { spawnSync } from "node:child_process";
import { closeSync, constants, mkdirSync, openSync, renameSync } from "node:fs";
import { join } from "node:path";
import { WorkspaceError } from "../errors.js";
import { layerRel } from "../layout.js";
import { newLayerId, type WorkspaceManifest } from "../manifest.js";
import { commitManifest, removeTree } from "../store.js";
import { copyMetaDir, idOf, looksLike, recOf, walkTree, writeBaseline, writeIds, type Baseline, type Ids } from "./baseline.js";

/** How many paths an error lists before "and N more". */
const SHOW = 10;
const listed = (paths: string[]): string => paths.slice(0, SHOW).join(", ") + (paths.length > SHOW ? ` and ${paths.length - SHOW} more` : "");

/**
 * Makes a copy-driver workspace whole before its holder first binds it: each root copied into its
 * upper layer and a baseline of the real tree taken (copy/baseline.ts). The manifest names the
 * driver first and the baseline last: a workspace killed half-copied has no baseline yet and is
 * copied again at its next open (nothing of it was ever shown to anyone). Idempotent.
 */
export function prepareCopy(wsDir: string, m: WorkspaceManifest, rootFds: number[]): WorkspaceManifest {
  if (m.driver === "copy" && m.copyBaseline) return m;
  const marked: WorkspaceManifest = { ...m, driver: "copy" };
  delete marked.copyBaseline;
  commitManifest(wsDir, marked);
  const id = newLayerId();
  for (const [i, r] of m.roots.entries()) {
    const { baseline, ids } = copyRoot(r.path, rootFds[i]!, join(wsDir, layerRel(i, m.upper.id)), copyMetaDir(wsDir, i));
    writeIds(wsDir, i, m.upper.id, ids);
    writeBaseline(wsDir, i, id, baseline);
  }
  const whole: WorkspaceManifest = { ...marked, copyBaseline: id };
  commitManifest(wsDir, whole);
  return whole;
}

/**
 * Copies the real root held by `rootFd` into `dest` (replaced) and records its baseline. `cp -a`
 * (reflinks where the filesystem has them, else data) keeps modes, times and symlinks as symlinks,
 * and never follows one; the source is the held descriptor, not the path. Devices are refused by name
 * (a copy would make device nodes in the state dir, and as root real ones); FIFOs and sockets are
 * copied as what they are (new, unconnected inodes). A tree that changes while it is copied is refused.
 */
export function copyRoot(root: string, rootFd: number, dest: string, metaDir: string): { baseline: Baseline; ids: Ids } {
  const baseline: Baseline = new Map();
  const devices: string[] = [];
  const top = openSync(`/proc/self/fd/${rootFd}`, constants.O_RDONLY | constants.O_DIRECTORY);
  try {
    walkTree(top, (rel, st, pfd, name) => {
      if (st.isBlockDevice() || st.isCharacterDevice()) devices.push(rel);
      baseline.set(rel, recOf(st, pfd, name));
    });
  } finally {
    closeSync(top);
  }
  if (devices.length > 0) {
    throw new WorkspaceError(`root ${root} holds device files (${listed(devices)}); the copy driver does not copy devices. Move them out of the tree, or use the kernel or fuse driver (--overlay-driver)`);
  }
  mkdirSync(metaDir, { recursive: true, mode: 0o700 });
  const tmp = join(metaDir, "copying");
  removeTree(tmp);
  mkdirSync(tmp, { mode: 0o700 });
  try {
    const r = spawnSync("cp", ["-a", "--reflink=auto", "--", `/proc/self/fd/3/.`, tmp], { stdio: ["ignore", "ignore", "pipe", rootFd], encoding: "utf8" });
    if (r.status !== 0) {
      throw new WorkspaceError(`cannot copy root ${root} into the workspace: ${r.error?.message ?? r.stderr.trim().split("\n").slice(0, 3).join("; ")}. Make every file of the root readable to this user and the state dir's disk big enough for a copy of the tree`);
    }
    const ids = settle(root, tmp, baseline);
    removeTree(dest);
    renameSync(tmp, dest);
    return { baseline, ids };
  } catch (err) {
    removeTree(tmp);
    throw err;
  }
}

/** The copy's identities, once every entry is checked against the baseline (nothing changed mid-copy). */
function settle(root: string, copy: string, baseline: Baseline): Ids {
  const ids: Ids = new Map();
  const moved = new Set<string>();
  const fd = openSync(copy, constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW);
  try {
    walkTree(fd, (rel, st, pfd, name) => {
      const rec = baseline.get(rel);
      if (rec && looksLike(st, rec, pfd, name)) ids.set(rel, idOf(st));
      else moved.add(rel);
    });
  } finally {
    closeSync(fd);
  }
  for (const rel of baseline.keys()) if (!ids.has(rel)) moved.add(rel);
  if (moved.size > 0) throw new WorkspaceError(`root ${root} changed while it was being copied (${listed([...moved])}); nothing was kept. Try again when nothing writes to it`);
  return ids;
}
