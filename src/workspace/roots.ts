import { closeSync, constants, fstatSync, readlinkSync, realpathSync, openSync, statfsSync } from "node:fs";
import { resolve } from "node:path";
import { usageError, WorkspaceError } from "./errors.js";
import { fsName, refusedAsLower, refusedAsUpper } from "./fs-types.js";
import type { WorkspaceManifest } from "./manifest.js";
import type { RootIdentity } from "./store.js";

const DIR_FLAGS = constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW | constants.O_NONBLOCK | constants.O_NOCTTY;

const within = (inner: string, outer: string): boolean => inner === outer || inner.startsWith(outer === "/" ? "/" : `${outer}/`);

/**
 * The roots a workspace covers, canonical, each a directory, none inside another (each root gets its
 * own overlay; a root nested in another would be covered twice) and none holding the state dir
 * (overlayfs refuses a layer inside the tree it covers, and the workspace would see its own layers).
 */
export function canonicalRoots(paths: string[], stateDir: string): string[] {
  if (paths.length === 0) throw usageError("a workspace needs at least one root");
  const out: string[] = [];
  for (const p of paths) {
    let real: string;
    try {
      real = realpathSync(resolve(p));
    } catch (err) {
      throw usageError(`root ${p}: ${(err as NodeJS.ErrnoException).code === "ENOENT" ? "does not exist" : (err as Error).message}`);
    }
    const other = out.find((o) => within(real, o) || within(o, real));
    if (other === real) continue;
    if (other) throw usageError(`roots ${other} and ${real} overlap: a workspace covers each root with its own overlay; give only the outer one`);
    if (within(stateDir, real)) throw usageError(`the state dir ${stateDir} lies inside root ${real}: overlayfs cannot keep a layer inside the tree it covers; give --state-dir a directory outside the roots`);
    if (within(real, stateDir)) throw usageError(`root ${real} lies inside the state dir ${stateDir}; give --state-dir a directory outside the roots`);
    out.push(real);
  }
  return out;
}

/**
 * Opens a root (a directory, its path free of symlinks) and returns the descriptor with its identity.
 * The descriptor is what the holder binds; the identity is what the manifest keeps.
 */
export function openRoot(path: string): { fd: number; id: RootIdentity } {
  let fd: number;
  try {
    fd = openSync(path, DIR_FLAGS);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOTDIR" || code === "ELOOP") throw usageError(`root ${path} is not a directory`);
    throw usageError(`root ${path}: ${(err as Error).message}`);
  }
  try {
    if (readlinkSync(`/proc/self/fd/${fd}`) !== path) throw new WorkspaceError(`root ${path} changed while it was being opened; try again`);
    const st = fstatSync(fd, { bigint: true });
    return { fd, id: { path, dev: String(st.dev), ino: String(st.ino) } };
  } catch (err) {
    closeSync(fd);
    throw err;
  }
}

/** A workspace is tied to the directories it was made over: the same paths, still the same directories. */
export function checkSameRoots(m: WorkspaceManifest, opened: RootIdentity[]): void {
  const want = m.roots.map((r) => r.path);
  const got = opened.map((r) => r.path);
  if (want.length !== got.length || want.some((p, i) => p !== got[i])) {
    throw usageError(`workspace ${m.name} covers ${want.join(", ")}; it was opened with ${got.join(", ")}. Give the same roots, in the same order, or use another workspace`);
  }
  for (const [i, r] of m.roots.entries()) {
    const o = opened[i]!;
    if (o.dev !== r.dev || o.ino !== r.ino) {
      throw new WorkspaceError(
        `root ${r.path} is no longer the directory workspace ${m.name} was made over (it was moved or replaced: device ${r.dev} inode ${r.ino} then, device ${o.dev} inode ${o.ino} now); its changes were recorded against the old one. Put it back, or discard the workspace`,
      );
    }
  }
}

/** Refuses, with the filesystem's name, a root or state dir overlayfs cannot build on. */
export function checkFilesystems(roots: string[], stateDir: string): void {
  for (const r of roots) {
    const t = statfsSync(r).type;
    if (refusedAsLower(t)) throw usageError(`root ${r} is on ${fsName(t)}, which overlayfs cannot use as a lower layer; choose a root on a disk filesystem (ext4, xfs, btrfs) or tmpfs`);
  }
  const t = statfsSync(stateDir).type;
  if (refusedAsUpper(t)) throw usageError(`state dir ${stateDir} is on ${fsName(t)}, which overlayfs cannot use for its upper layer; give --state-dir a directory on ext4, xfs, btrfs or tmpfs`);
}
