import { WorkspaceError } from "./errors.js";

/** How long a live checkpoint waits for file writes in flight to end (one waiting for a human's approval can take long). */
const DRAIN_MS = 10_000;

/**
 * Who is changing a live workspace, and a live checkpoint holding them off: one per workspace a
 * server holds (server/live-workspaces.ts). Commands (foreground, and background ones until their
 * process ends) and file-tool writes `enter` it before anything is recorded or run and leave when
 * done; `quiet` refuses while any command runs (a running process may write at any moment, and
 * stopping it is the agent's business, not the operator's), else stops new entries (they wait),
 * waits for the writes in flight to end and runs its task alone. Waiting entries go on, in order,
 * when it is done.
 */
export class LiveGate {
  private writes = 0;
  private commands = 0;
  private closed: Promise<void> | null = null;
  private drained: (() => void) | null = null;

  /** Holds the workspace for one write (`write`) or one command (`command`); waits while a checkpoint runs. Call the result when done. */
  async enter(kind: "write" | "command"): Promise<() => void> {
    while (this.closed) await this.closed;
    if (kind === "write") this.writes++;
    else this.commands++;
    let held = true;
    return () => {
      if (!held) return;
      held = false;
      if (kind === "write") this.writes--;
      else this.commands--;
      if (this.writes === 0) this.drained?.();
    };
  }

  /** Commands (and background processes) running now. */
  get running(): number {
    return this.commands;
  }

  /**
   * Runs `task` with the workspace quiet: refused (WorkspaceError, nothing done) while a command runs
   * or when writes in flight do not end within DRAIN_MS; new writes and commands wait meanwhile.
   */
  async quiet<T>(name: string, task: () => Promise<T>): Promise<T> {
    while (this.closed) await this.closed;
    if (this.commands > 0) {
      throw new WorkspaceError(
        `cannot checkpoint workspace ${name} live: ${this.commands} command(s) or background process(es) run in it and may write at any moment; nothing was copied. Try again when they have ended (list_processes, kill_process)`,
      );
    }
    let open!: () => void;
    this.closed = new Promise<void>((r) => (open = r));
    try {
      if (this.writes > 0) await this.drain(name);
      return await task();
    } finally {
      this.closed = null;
      open();
    }
  }

  private async drain(name: string): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const ended = await Promise.race([
      new Promise<boolean>((r) => (this.drained = () => r(true))),
      new Promise<boolean>((r) => (timer = setTimeout(() => r(false), DRAIN_MS))),
    ]);
    clearTimeout(timer);
    this.drained = null;
    if (!ended) throw new WorkspaceError(`cannot checkpoint workspace ${name} live: ${this.writes} file write(s) did not end within ${DRAIN_MS / 1000} s (one may wait for an approval); nothing was copied. Try again`);
  }
}
