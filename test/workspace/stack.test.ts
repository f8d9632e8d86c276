import { describe, expect, it } from "vitest";
import type { WorkspaceManifest } from "../../src/workspace/manifest.js";
import { latestStack, newLabel, snapshotsKept, stackAt } from "../../src/workspace/stack.js";

const layer = (id: string, label?: string) => ({ id, created: `2026-12-04T10:00:0${id.length}Z`, ...(label ? { label } : {}) });
/** Frozen layers L1, L2 (labels one, two); live checkpoints S0 on nothing, S2 on both, S1 on L1. */
const m: WorkspaceManifest = {
  version: 1,
  name: "w",
  created: "2026-12-04T10:00:00Z",
  createdNs: "1000",
  roots: [{ path: "/p", dev: "1", ino: "2" }],
  layers: [layer("l1", "one"), layer("l2", "two")],
  upper: { id: "up", created: "2026-12-04T10:00:09Z", startedNs: "5000" },
  snapshots: [
    { id: "s0", label: "zero", created: "2026-12-04T10:00:01Z", startedNs: "2000", base: 0 },
    { id: "s2", label: "live-two", created: "2026-12-04T10:00:05Z", floorNs: "3000", base: 2 },
    { id: "s1", label: "live-one", created: "2026-12-04T10:00:06Z", base: 1 },
  ],
  state: "closed",
  holder: null,
};
const ids = (ls: { id: string }[]) => ls.map((l) => l.id);

describe("a workspace's checkpoints: frozen layers and live checkpoints beside them", () => {
  it("a label stands for its stack: a frozen layer and those below, or a live checkpoint on its base", () => {
    expect(ids(stackAt(m, "one"))).toEqual(["l1"]);
    expect(ids(stackAt(m, "two"))).toEqual(["l1", "l2"]);
    expect(ids(stackAt(m, "zero"))).toEqual(["s0"]);
    expect(ids(stackAt(m, "live-one"))).toEqual(["l1", "s1"]);
    expect(ids(stackAt(m, "live-two"))).toEqual(["l1", "l2", "s2"]);
    // a live checkpoint's entries were born in the copy: apply's conflict floor is its upper's start
    expect(stackAt(m, "live-two").at(-1)).toMatchObject({ label: "live-two", floorNs: "3000" });
    expect(stackAt(m, "zero").at(-1)).toMatchObject({ floorNs: "2000" });
    expect(stackAt(m, "live-one").at(-1)).toMatchObject({ floorNs: "1000" });
    expect(() => stackAt(m, "nope")).toThrow(/has no checkpoint labelled nope \(it has: one, two, zero, live-two, live-one\)/);
  });

  it("a plain reset goes to the newest live checkpoint on the whole stack, else the stack", () => {
    expect(ids(latestStack(m))).toEqual(["l1", "l2", "s2"]);
    expect(ids(latestStack({ ...m, snapshots: [] }))).toEqual(["l1", "l2"]);
  });

  it("live checkpoints whose base is gone are dropped by a reset; one that became a layer leaves the side", () => {
    expect(ids(snapshotsKept(m, stackAt(m, "two")))).toEqual(["s0", "s2", "s1"]);
    expect(ids(snapshotsKept(m, stackAt(m, "one")))).toEqual(["s0", "s1"]);
    expect(ids(snapshotsKept(m, stackAt(m, "live-one")))).toEqual(["s0"]);
    expect(ids(snapshotsKept(m, stackAt(m, "zero")))).toEqual([]);
    expect(ids(snapshotsKept(m, []))).toEqual(["s0"]);
  });

  it("labels are unique across frozen layers and live checkpoints", () => {
    expect(() => newLabel(m, "live-one")).toThrow(/already has a checkpoint labelled live-one/);
    expect(() => newLabel(m, "two")).toThrow(/already has a checkpoint labelled two/);
    expect(newLabel(m, undefined)).toBe("checkpoint-6");
    expect(() => newLabel(m, "../x")).toThrow(/label/);
  });
});
