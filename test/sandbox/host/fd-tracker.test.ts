import { expect, test } from "vitest";
import { localFdTracker, MAX_OPEN_FDS } from "../../../src/sandbox/host/fd-tracker.js";

test("the per-run descriptor budget is bounded and freed on removal", () => {
  const tr = localFdTracker(2);
  expect(tr.add(5)).toBe(true);
  expect(tr.add(6)).toBe(true);
  expect(tr.add(7)).toBe(false);
  tr.remove(5);
  tr.remove(42); // never added: ignored
  expect(tr.add(7)).toBe(true);
  expect(MAX_OPEN_FDS).toBe(1024);
});
