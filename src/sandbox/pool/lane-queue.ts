/**
 * Which queue a run waits in. `short`: a bounded call (read, write, stat, a listing); `bulk`: a
 * search shard, which may take hundreds of milliseconds.
 */
export type Lane = "short" | "bulk";

/** How many short runs may go ahead of the oldest waiting bulk run before it gets the next worker. */
export const MAX_OVERTAKES = 8;

/**
 * The pool's queue, in two lanes, each first in, first out. A worker asks for the next run of
 * the lane it prefers (worker-pool.ts: every other worker prefers bulk runs), so a write does not
 * wait behind a queue of search shards, and searches keep a worker too. A worker preferring short
 * runs lets the oldest bulk run be overtaken at most `maxOvertakes` times in a row before it takes
 * it, so with a single worker searches are never starved (a count, not a clock).
 */
export class LaneQueue<T> {
  private readonly short: T[] = [];
  private readonly bulk: T[] = [];
  private overtakes = 0;

  constructor(private readonly maxOvertakes = MAX_OVERTAKES) {}

  get length(): number {
    return this.short.length + this.bulk.length;
  }

  push(lane: Lane, item: T): void {
    (lane === "bulk" ? this.bulk : this.short).push(item);
  }

  /** The next run for a worker preferring `prefers`, or undefined when both lanes are empty. */
  shift(prefers: Lane = "short"): T | undefined {
    const takeBulk = prefers === "bulk" || this.short.length === 0 || this.overtakes >= this.maxOvertakes;
    if (this.bulk.length > 0 && takeBulk) {
      this.overtakes = 0;
      return this.bulk.shift();
    }
    if (this.bulk.length > 0) this.overtakes++;
    return this.short.shift();
  }

  /** Empties both lanes (closing): every waiting run, oldest lane order kept. */
  drain(): T[] {
    this.overtakes = 0;
    return [...this.short.splice(0), ...this.bulk.splice(0)];
  }
}
