/**
 * Host descriptors a run has open, bounded: a module cannot exhaust the process's descriptor
 * table. (Descriptors of a worker killed at its deadline are closed by Node itself: the pool
 * starts workers with `trackUnmanagedFds: true`.)
 */
export interface FdTracker {
  /** Records `fd`; false when the budget is spent (the caller closes `fd` and reports EMFILE). */
  add(fd: number): boolean;
  remove(fd: number): void;
}

/** Most host descriptors one run may hold at once (guest descriptors plus the resolver's own). */
export const MAX_OPEN_FDS = 1024;

export function localFdTracker(limit = MAX_OPEN_FDS): FdTracker {
  const open = new Set<number>();
  return {
    add(fd) {
      if (open.size >= limit) return false;
      open.add(fd);
      return true;
    },
    remove(fd) {
      open.delete(fd);
    },
  };
}
