import { monitorEventLoopDelay, type IntervalHistogram } from "node:perf_hooks";

/**
 * Whether the main thread is saturated: the mean event-loop delay over the last window (100 ms)
 * passed `thresholdMs`. While it is, calls that could run on the main thread go to the worker pool
 * instead: under load the pool's threads get CPU time of their own, and a busy main thread should
 * spend its time on what only it can do (HTTP, spawning commands, replies). Measured with 50
 * clients on a loaded 2-core machine: main-thread runs all the time gave a 2x higher file-tool p99
 * than no main-thread runs (docs/benchmarks.md).
 */
export class LoopLag {
  private readonly histogram: IntervalHistogram;
  private readonly timer: NodeJS.Timeout;
  private saturated = false;

  constructor(thresholdMs: number, windowMs = 100) {
    this.histogram = monitorEventLoopDelay({ resolution: 10 });
    this.histogram.enable();
    this.timer = setInterval(() => {
      this.saturated = this.histogram.count > 0 && this.histogram.mean / 1e6 > thresholdMs;
      this.histogram.reset();
    }, windowMs);
    this.timer.unref();
  }

  get high(): boolean {
    return this.saturated;
  }

  close(): void {
    clearInterval(this.timer);
    this.histogram.disable();
  }
}
