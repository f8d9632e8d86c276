import { readlinkSync } from "node:fs";

/**
 * This process's descriptor directory in /proc. `/proc/<pid>/fd` saves the kernel a symlink
 * (`/proc/self`) on every anchored call, but names this process only when /proc belongs to our PID
 * namespace: used when `/proc/self` reads back as our own pid, else `/proc/self/fd`. Fixed for the
 * life of the process (threads share the pid and the descriptor table).
 */
const PROC_FD = procFdDir();

function procFdDir(): string {
  try {
    if (readlinkSync("/proc/self") === String(process.pid)) return `/proc/${process.pid}/fd`;
  } catch {
    // no /proc: the platform check refuses runs anyway
  }
  return "/proc/self/fd";
}

/** The /proc path of an open descriptor (`/proc/self/fd/N`): readlink gives its host path, readdir lists it. */
export function fdPath(fd: number): string {
  return `${PROC_FD}/${fd}`;
}

/**
 * A host path anchored on an open directory descriptor: the kernel resolves `/proc/self/fd/N` to
 * the directory object itself, so a directory swapped for a symlink after it was opened changes
 * nothing. `name` is always a single component (no `/`, never `.` or `..`) or empty for the
 * directory itself.
 */
export function anchored(dirFd: number, name: string): string {
  return name === "" ? `${PROC_FD}/${dirFd}/.` : `${PROC_FD}/${dirFd}/${name}`;
}
