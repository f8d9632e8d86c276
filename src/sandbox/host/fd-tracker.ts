/**
 * Host descriptors a run has open. A worker that is terminated at its deadline cannot close its
 * own descriptors, so the worker mirrors them into shared memory and the pool closes whatever is
 * left once the worker has stopped. Protocol: a descriptor is added right after it is opened and
 * removed right before it is closed, so the table never names a descriptor the run no longer owns
 * (a kill in between leaks one descriptor at worst, never closes someone else's).
 */
export interface FdTracker {
  /** Records `fd`; false when the table is full (the caller closes `fd` and reports EMFILE). */
  add(fd: number): boolean;
  remove(fd: number): void;
}

/** Most host descriptors one run may hold at once (guest descriptors plus the resolver's own). */
export const MAX_OPEN_FDS = 1024;

/** The tracker for runs on the current thread: a plain set, bounded like the shared one. */
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

/** Shared memory for `sharedFdTracker`, allocated by the pool per worker. */
export function allocateFdSlots(limit = MAX_OPEN_FDS): SharedArrayBuffer {
  return new SharedArrayBuffer(limit * Int32Array.BYTES_PER_ELEMENT);
}

/** The worker side: each slot holds fd + 1, or 0 when free. */
export function sharedFdTracker(slots: SharedArrayBuffer): FdTracker {
  const table = new Int32Array(slots);
  const slotOf = new Map<number, number>();
  const free: number[] = [];
  for (let i = table.length - 1; i >= 0; i--) free.push(i);
  return {
    add(fd) {
      const slot = free.pop();
      if (slot === undefined) return false;
      slotOf.set(fd, slot);
      Atomics.store(table, slot, fd + 1);
      return true;
    },
    remove(fd) {
      const slot = slotOf.get(fd);
      if (slot === undefined) return;
      Atomics.store(table, slot, 0);
      slotOf.delete(fd);
      free.push(slot);
    },
  };
}

/** The pool side, after the worker has stopped: the descriptors it left open. */
export function leftoverFds(slots: SharedArrayBuffer): number[] {
  const table = new Int32Array(slots);
  const out: number[] = [];
  for (let i = 0; i < table.length; i++) {
    const v = Atomics.load(table, i);
    if (v > 0) out.push(v - 1);
  }
  return out;
}
