import { randomBytes } from "node:crypto";
import { closeSync, constants, fstatSync, openSync, unlinkSync, writeSync } from "node:fs";
import type { HeldDir } from "../../policy/roots.js";
import { MARKER_PREFIX, type HoldRoot } from "./protocol.js";

/**
 * Proof that a compute node sees a root as the same directory (the Slurm backend requires roots on
 * a filesystem shared at the same path on every node): a marker file with random content, made
 * through the server's held descriptor, read back by the node through its own. A root the server
 * cannot write falls back to the inode and the directory's times. `cleanup` removes the markers.
 */
export function prepareMarkers(roots: readonly { path: string; held?: HeldDir }[]): { roots: HoldRoot[]; cleanup(): void } {
  const made: { dirFd: number; name: string }[] = [];
  const opened: number[] = [];
  const out = roots.map((r): HoldRoot => {
    // Roots always come held from the server; a caller without one (a test, an embedding) gets it opened here for the check.
    const held = r.held ?? openHere(r.path, opened);
    const name = `${MARKER_PREFIX}${randomBytes(8).toString("hex")}`;
    const content = randomBytes(16).toString("hex");
    try {
      const fd = openSync(`/proc/self/fd/${held.fd}/${name}`, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
      try {
        writeSync(fd, content);
      } finally {
        closeSync(fd);
      }
      made.push({ dirFd: held.fd, name });
      return { path: r.path, ino: held.ino, marker: { name, content } };
    } catch {
      const st = fstatSync(held.fd);
      return { path: r.path, ino: held.ino, times: { mtimeMs: st.mtimeMs, ctimeMs: st.ctimeMs } };
    }
  });
  return {
    roots: out,
    cleanup() {
      for (const m of made.splice(0)) {
        try {
          unlinkSync(`/proc/self/fd/${m.dirFd}/${m.name}`);
        } catch {
          // already gone
        }
      }
      for (const fd of opened.splice(0)) closeSync(fd);
    },
  };
}

function openHere(path: string, opened: number[]): HeldDir {
  const fd = openSync(path, constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  opened.push(fd);
  const st = fstatSync(fd, { bigint: true });
  return { fd, dev: String(st.dev), ino: String(st.ino) };
}
