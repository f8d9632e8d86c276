import { closeSync, constants, fstatSync, openSync } from "node:fs";
import { identityOf } from "../../config/held-roots.js";
import type { HeldDir } from "../../policy/roots.js";
import { fdPath } from "./proc-fd.js";

/** How a held root is opened for a run: its /proc entry is a magic link to the open directory, followed on purpose. */
export const HELD_OPEN = constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NONBLOCK | constants.O_NOCTTY;

/** Most held roots one runner keeps open (a server has a few; client roots can add some). */
export const MAX_KEPT_DOORS = 16;

/**
 * The held roots' directories one runner keeps open across its runs (one per runner: the main
 * thread's InlineRunner, each pool worker; runs of one runner never overlap). A run otherwise
 * opens the server's held directory again through its descriptor, checks its identity and closes
 * it at the end: three system calls per root per run, 6-7% of a 4 KB read's server CPU (bench/cpu.mjs).
 *
 * The descriptor kept is this runner's own, opened through the held one and checked to be that
 * directory (device and inode) once; an open descriptor never changes what it refers to, so a
 * later run needs no check of its identity. Its key holds the held descriptor's number and the
 * identity: a number the server closed and reused for another directory is another key (the kept
 * descriptor pins its inode, so no other directory can take the same identity meanwhile). Every
 * run still checks that the root's path leads to it (roots.moved, RunContext). Kept descriptors
 * are closed only between runs (`trim`), never while a run may use one; a worker stopped at its
 * deadline has them closed by Node (`trackUnmanagedFds`).
 *
 * Only roots in this process's own mount namespace are kept: a copy-on-write workspace's merged
 * view (`held.via`) and its lower layers are opened per run, so nothing kept here holds a
 * workspace's mounts after the workspace ends.
 */
export class DoorCache {
  /** Key -> descriptor, least recently used first. */
  private readonly doors = new Map<string, number>();

  constructor(private readonly max = MAX_KEPT_DOORS) {}

  /** Whether `held` is kept here (else the run opens it itself). */
  static keeps(held: HeldDir): boolean {
    return held.via === undefined && held.lower === undefined;
  }

  /**
   * This runner's descriptor on `held` (opened and checked on first use), or the reason it cannot
   * be had: the held root cannot be opened, or what opened is not that directory.
   */
  get(held: HeldDir): number | { refused: string } {
    const key = `${held.fd}/${held.dev}/${held.ino}`;
    const kept = this.doors.get(key);
    if (kept !== undefined) {
      this.doors.delete(key);
      this.doors.set(key, kept);
      return kept;
    }
    const fd = openHeld(held, (path) => openSync(path, HELD_OPEN), closeQuietly);
    if (typeof fd !== "number") return fd;
    this.doors.set(key, fd);
    return fd;
  }

  /** Closes the least recently used descriptors beyond the bound. Call between runs only. */
  trim(): void {
    for (const [key, fd] of this.doors) {
      if (this.doors.size <= this.max) return;
      this.doors.delete(key);
      closeQuietly(fd);
    }
  }

  get size(): number {
    return this.doors.size;
  }

  /** Closes every kept descriptor (between runs only). */
  close(): void {
    for (const fd of this.doors.values()) closeQuietly(fd);
    this.doors.clear();
  }
}

/**
 * Opens the held directory through its descriptor's /proc entry (a magic link to the open directory,
 * followed on purpose) and keeps the result only when it is that directory (device and inode). The
 * one place both a kept descriptor (DoorCache) and a run's own (RunContext) are opened.
 */
export function openHeld(held: HeldDir, open: (path: string) => number, close: (fd: number) => void): number | { refused: string } {
  let fd: number;
  try {
    fd = open(fdPath(held.fd));
  } catch {
    return { refused: "the held root cannot be opened" };
  }
  let id: { dev: string; ino: string } | null = null;
  try {
    id = identityOf(fstatSync(fd, { bigint: true }));
  } catch {
    // unknown identity: refused below
  }
  if (id === null || id.dev !== held.dev || id.ino !== held.ino) {
    close(fd);
    return { refused: "the held root is not the directory it was" };
  }
  return fd;
}

function closeQuietly(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    // already gone
  }
}
