import { closeSync, constants, lstatSync, openSync, type BigIntStats } from "node:fs";
import { isMainThread } from "node:worker_threads";
import { anchored, fdPath } from "./proc-fd.js";

/** Options of a listed-stat lstat: exact values, absent as undefined (one object, not one per entry). */
const EXACT_LSTAT = { bigint: true, throwIfNoEntry: false } as const;

/**
 * `fstatat(dirFd, name, AT_SYMLINK_NOFOLLOW)` for one run, which Node does not have. An lstat
 * through `/proc/<pid>/fd/<dir>/<name>` costs the kernel the magic link (pid and descriptor
 * lookups, a ptrace check) on every name; a listing with sizes stats every entry. On the main
 * thread (inline runs; `process.chdir` is the process's, workers cannot call it) the working
 * directory is moved onto the directory object itself, once per directory: `chdir` through the
 * descriptor's magic link lands on the open directory, not on a path, so a rename or a symlink
 * swapped in for it changes nothing, exactly as with the anchored path. Each name is then stat'ed
 * relative to it (one plain component: lstat never follows it).
 *
 * `end()` puts the working directory back where it was, through a descriptor held on it, before
 * the run returns (the run is synchronous: nothing else on this thread sees the moved directory).
 * Workers, and a main thread whose working directory cannot be opened, use the anchored path.
 */
export class DirStat {
  /** The descriptor the working directory was moved onto (-1: not moved, or that descriptor closed since). */
  private at = -1;
  /** The working directory before the run, held open (-1: never moved). */
  private home = -1;
  private movable = isMainThread;

  /** lstat of the plain name `name` in the open directory `dirFd`; undefined when absent; throws like lstatSync. */
  lstat(dirFd: number, name: string): BigIntStats | undefined {
    if (!this.movable || !this.moveTo(dirFd)) return lstatSync(anchored(dirFd, name), EXACT_LSTAT);
    return lstatSync(name, EXACT_LSTAT);
  }

  /** A descriptor of the run is being closed: the working directory no longer stands for it (its number may come back as another directory). */
  forget(fd: number): void {
    if (fd === this.at) this.at = -1;
  }

  /** Back to the working directory from before the run (called once the module has returned). */
  end(): void {
    if (this.home === -1) return;
    const home = this.home;
    this.home = -1;
    this.at = -1;
    try {
      process.chdir(fdPath(home));
    } catch {
      // Never stay inside a root: the filesystem root is the fail-closed fallback.
      process.chdir("/");
    } finally {
      closeSync(home);
    }
  }

  private moveTo(dirFd: number): boolean {
    if (dirFd === this.at) return true;
    try {
      if (this.home === -1) this.home = openSync(".", constants.O_RDONLY | constants.O_DIRECTORY);
      process.chdir(fdPath(dirFd));
    } catch {
      this.end();
      this.movable = false;
      return false;
    }
    this.at = dirFd;
    return true;
  }
}
