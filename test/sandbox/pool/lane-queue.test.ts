import { describe, expect, test } from "vitest";
import { LaneQueue, MAX_OVERTAKES } from "../../../src/sandbox/pool/lane-queue.js";

/* The pool's two lanes: short runs first for a worker preferring them, bulk runs never starved. */

describe("LaneQueue", () => {
  test("each lane is first in, first out; a worker takes its preferred lane first, then the other", () => {
    const q = new LaneQueue<string>();
    q.push("bulk", "b1");
    q.push("short", "s1");
    q.push("bulk", "b2");
    q.push("short", "s2");
    expect(q.length).toBe(4);
    expect(q.shift("bulk")).toBe("b1");
    expect(q.shift("short")).toBe("s1");
    expect(q.shift("short")).toBe("s2");
    // No short run left: a worker preferring short runs takes the bulk one.
    expect(q.shift("short")).toBe("b2");
    expect(q.shift("short")).toBeUndefined();
    expect(q.shift("bulk")).toBeUndefined();
    // Likewise a bulk-preferring worker takes short runs when no bulk run waits.
    q.push("short", "s3");
    expect(q.shift("bulk")).toBe("s3");
  });

  test("a waiting bulk run is overtaken at most MAX_OVERTAKES times in a row by short runs", () => {
    const q = new LaneQueue<string>();
    for (let i = 0; i < 3 * MAX_OVERTAKES; i++) q.push("short", `s${i}`);
    q.push("bulk", "b0");
    q.push("bulk", "b1");
    const order: string[] = [];
    for (let x = q.shift("short"); x !== undefined; x = q.shift("short")) order.push(x);
    expect(order).toHaveLength(3 * MAX_OVERTAKES + 2);
    expect(order.indexOf("b0")).toBe(MAX_OVERTAKES);
    expect(order.indexOf("b1")).toBe(2 * MAX_OVERTAKES + 1);
    expect(order.filter((x) => x.startsWith("s"))).toEqual(Array.from({ length: 3 * MAX_OVERTAKES }, (_, i) => `s${i}`));
  });

  test("drain empties both lanes and returns every waiting run", () => {
    const q = new LaneQueue<number>(2);
    q.push("short", 1);
    q.push("bulk", 2);
    q.push("short", 3);
    expect(q.drain().sort()).toEqual([1, 2, 3]);
    expect(q.length).toBe(0);
    expect(q.shift("bulk")).toBeUndefined();
  });
});
