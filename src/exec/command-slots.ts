/** One running command's claim on the server-wide limit; release() is idempotent. */
export interface CommandSlot {
  release(): void;
}

/**
 * The server-wide limit on commands running at once (policy execution.max_concurrent_commands).
 * One per bridge, which is one per server: every session, the REST API and background processes
 * share it. A command over the limit is refused at once, never queued: a queued call would hold
 * its client for as long as the commands before it run (up to max_timeout_s), and the client is
 * better placed to wait, retry or kill a background process of its own.
 */
export class CommandSlots {
  private count = 0;

  constructor(readonly limit: number) {}

  /** A slot, or null when `limit` commands already run. */
  tryAcquire(): CommandSlot | null {
    if (this.count >= this.limit) return null;
    this.count++;
    let held = true;
    return {
      release: () => {
        if (!held) return;
        held = false;
        this.count--;
      },
    };
  }

  get running(): number {
    return this.count;
  }
}
