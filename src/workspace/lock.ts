import { spawnSync } from "node:child_process";
import { closeSync, constants, openSync } from "node:fs";
import { WorkspaceError } from "./errors.js";

/**
 * An exclusive lock on a workspace, held by an open file description (flock(2)). Node has no flock,
 * so `flock -xn 3` takes it on a descriptor this process opened and shares with it: the lock then
 * belongs to that open file description, outlives the short flock process, and is released by the
 * kernel when the last descriptor on it closes, whoever holds it: this process (`release()`), or the
 * namespace holder it was handed to, or nobody after a `kill -9`. No stale lock file ever needs
 * cleaning up.
 */
export interface HeldLock {
  /** The descriptor holding the lock; pass it to a child to let the child keep the lock. */
  readonly fd: number;
  release(): void;
}

/** Takes the lock at `path` (created if missing), or returns null when someone else holds it. */
export function tryLock(path: string): HeldLock | null {
  const fd = openSync(path, constants.O_RDWR | constants.O_CREAT, 0o600);
  const r = spawnSync("flock", ["-xn", "3"], { stdio: ["ignore", "ignore", "pipe", fd], encoding: "utf8" });
  if (r.status === 0) {
    let open = true;
    return {
      fd,
      release() {
        if (open) closeSync(fd);
        open = false;
      },
    };
  }
  closeSync(fd);
  if (r.status === 1) return null;
  const why = r.error ? (r.error as Error).message : r.stderr.trim() || `exit ${r.status}`;
  throw new WorkspaceError(`cannot lock ${path} with flock(1) (util-linux): ${why}; install util-linux`);
}
