/**
 * Whether a process with this pid exists on this host (EPERM: it exists, owned by someone else).
 * Used by the sweeps that remove what a crashed process left behind: the audit head's temporary
 * files (atomic-file.ts) and the docker backend's stale containers.
 */
export function pidExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}
