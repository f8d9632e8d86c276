import { monitorEventLoopDelay, type IntervalHistogram } from "node:perf_hooks";

/** How often the event loop is sampled (monitorEventLoopDelay's resolution). */
const SAMPLE_MS = 10;

/**
 * The event-loop delay in ms from a monitorEventLoopDelay mean (ns). The histogram records the whole
 * interval between two samples, not the delay: an idle loop sampled every 10 ms shows a mean of about
 * 10.2 ms, so the sampling interval is taken off first.
 */
export function loopDelayMs(meanNs: number, sampleMs: number): number {
  return Math.max(0, meanNs / 1e6 - sampleMs);
}

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
    this.histogram = monitorEventLoopDelay({ resolution: SAMPLE_MS });
    this.histogram.enable();
    this.timer = setInterval(() => {
      this.saturated = this.histogram.count > 0 && loopDelayMs(this.histogram.mean, SAMPLE_MS) > thresholdMs;
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
