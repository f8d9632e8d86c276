import { closeSync, constants, fstatSync, lstatSync, openSync, readlinkSync } from "node:fs";
import type { HeldDir } from "../policy/roots.js";

/** Opens a directory without following a final symlink; never blocks, never a controlling tty. */
const DIR_FLAGS = constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW | constants.O_NONBLOCK | constants.O_NOCTTY;

/** A root that no longer is the directory the server holds (moved, replaced, removed). */
export class RootMovedError extends Error {
  override name = "RootMovedError";
  readonly rule = "roots.moved";
}

/** Device and inode of a stat result, as the decimal strings HeldDir keeps. */
export function identityOf(st: { dev: number | bigint; ino: number | bigint }): { dev: string; ino: string } {
  return { dev: String(st.dev), ino: String(st.ino) };
}

/** The message every layer gives for a root whose path no longer leads to the held directory. */
export function movedMessage(path: string): string {
  return `root ${path} is no longer the directory the server opened (it was moved, replaced or removed); put it back, or restart the server with the root where it is now`;
}

/**
 * Whether `path` (absolute, its last component not followed) is the held directory right now, in the
 * mount namespace the directory was held in (`held.via`: a workspace's merged view, serve --overlay).
 */
export function pathLeadsTo(path: string, held: HeldDir): boolean {
  try {
    const st = lstatSync(`${held.via ?? ""}${path}`, { bigint: true });
    return st.isDirectory() && String(st.dev) === held.dev && String(st.ino) === held.ino;
  } catch {
    return false;
  }
}

/**
 * Holds root directories by descriptor (SPEC "Roots": a root is held by identity from the moment it
 * is opened). One per server process, built in server/deps.ts; the descriptors stay open until
 * close(), so an inode number cannot be reused by a new directory while the root is in use.
 */
/**
 * Opens a canonical root path as a held directory. The default opens it in this process's own mount
 * namespace; serve --overlay passes one that opens it in a workspace's merged view
 * (config/merged-roots.ts) and refuses what lies outside every copy-on-write root.
 */
export type RootOpener = (path: string) => HeldDir;

export class RootHolder {
  private readonly held = new Map<string, HeldDir>();
  private closed = false;

  constructor(private readonly opener: RootOpener = openHostRoot) {}

  /**
   * The held directory for a canonical path: opened now (the path must lead to a directory, its
   * last component not a symlink), or the one held before when the path still leads to it. A path
   * that now leads elsewhere throws RootMovedError: a root is never silently re-resolved.
   */
  hold(path: string): HeldDir {
    if (this.closed) throw new Error("the root holder is closed");
    const known = this.held.get(path);
    if (known) {
      if (!pathLeadsTo(path, known)) throw new RootMovedError(movedMessage(path));
      return known;
    }
    const dir = this.opener(path);
    this.held.set(path, dir);
    return dir;
  }

  close(): void {
    this.closed = true;
    for (const dir of this.held.values()) closeHeld(dir);
    this.held.clear();
  }
}

/** Closes the descriptors a held root keeps (HeldDir.fd and its lower layers). */
export function closeHeld(dir: HeldDir): void {
  for (const fd of [dir.fd, ...(dir.lower ? [dir.lower.dir.fd, ...dir.lower.layers.map((l) => l.fd)] : [])]) {
    try {
      closeSync(fd);
    } catch {
      // already closed
    }
  }
}

/** The default RootOpener: the directory at `path` in this process's mount namespace. */
export function openHostRoot(path: string): HeldDir {
  const fd = openSync(path, DIR_FLAGS);
  try {
    // The descriptor must name exactly this canonical path (no symlink met on the way).
    if (process.platform === "linux" && readlinkSync(`/proc/self/fd/${fd}`) !== path) throw new RootMovedError(`root ${path} changed while it was being opened`);
    return { fd, ...identityOf(fstatSync(fd, { bigint: true })) };
  } catch (err) {
    closeSync(fd);
    throw err;
  }
}
