import { describe, expect, it } from "vitest";
import { LoopLag, loopDelayMs } from "../../../src/sandbox/inline/loop-lag.js";

describe("LoopLag", () => {
  it("takes the sampling interval off the histogram's mean: an idle loop has no delay", () => {
    // What monitorEventLoopDelay({ resolution: 10 }) reports on an idle loop here: 10.1-10.3 ms.
    expect(loopDelayMs(10.22e6, 10)).toBeCloseTo(0.22, 5);
    expect(loopDelayMs(9.9e6, 10)).toBe(0);
    expect(loopDelayMs(35e6, 10)).toBeCloseTo(25, 5);
  });

  it("is not high on a loop that only waits, and is high while the loop is held", async () => {
    const lag = new LoopLag(10, 100);
    try {
      // An idle loop: some window of five shows it not saturated (all five would be with the
      // sampling interval counted as delay; a loaded CI machine may delay a window or two).
      const idle: boolean[] = [];
      for (let i = 0; i < 5; i++) {
        await new Promise((r) => setTimeout(r, 110));
        idle.push(lag.high);
      }
      expect(idle).toContain(false);
      // Hold the loop for 250 ms at a time, letting the timers run for 30 ms in between: a window
      // that saw a held loop has a mean delay far past 10 ms.
      let seen = false;
      for (let i = 0; i < 8 && !seen; i++) {
        const until = performance.now() + 250;
        while (performance.now() < until);
        await new Promise((r) => setTimeout(r, 30));
        seen = lag.high;
      }
      expect(seen).toBe(true);
    } finally {
      lag.close();
    }
  });
});
