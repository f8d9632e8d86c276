import { describe, expect, test } from "vitest";
import { allocateFdSlots, leftoverFds, localFdTracker, sharedFdTracker } from "../../../src/sandbox/host/fd-tracker.js";

describe("fd trackers", () => {
  test("shared: what the worker holds is what the pool sees", () => {
    const slots = allocateFdSlots(8);
    const tr = sharedFdTracker(slots);
    for (const fd of [0, 3, 7, 100]) expect(tr.add(fd)).toBe(true);
    tr.remove(7);
    tr.remove(42); // never added: ignored
    expect(leftoverFds(slots).sort((a, b) => a - b)).toEqual([0, 3, 100]);
  });
  test("shared: bounded; slots are reused after removal", () => {
    const slots = allocateFdSlots(2);
    const tr = sharedFdTracker(slots);
    expect(tr.add(10)).toBe(true);
    expect(tr.add(11)).toBe(true);
    expect(tr.add(12)).toBe(false);
    tr.remove(10);
    expect(tr.add(12)).toBe(true);
    expect(leftoverFds(slots).sort()).toEqual([11, 12]);
  });
  test("local: bounded", () => {
    const tr = localFdTracker(1);
    expect(tr.add(5)).toBe(true);
    expect(tr.add(6)).toBe(false);
    tr.remove(5);
    expect(tr.add(6)).toBe(true);
  });
});
