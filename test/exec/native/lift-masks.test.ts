import { describe, expect, it } from "vitest";
import { liftUnscanned } from "../../../src/exec/native/lift-masks.js";
import type { DenyMasks } from "../../../src/exec/native/deny-masks.js";

const masks = (m: Partial<DenyMasks>): DenyMasks => ({ files: [], dirs: [], pins: [], symlinks: [], unscanned: [], ...m });

describe("liftUnscanned", () => {
  it("hides whole a directory whose masks are all unscanned directories, with what was masked below it", () => {
    const m = masks({ dirs: ["/r/out/c1", "/r/out/c2"], unscanned: ["/r/out/c1", "/r/out/c2"], files: ["/r/out/old/.env"] });
    const lifted = liftUnscanned(m, ["/r"]);
    expect(lifted.dirs).toEqual(["/r/out"]);
    expect(lifted.unscanned).toEqual(["/r/out"]);
    expect(lifted.files).toEqual([]); // covered by /r/out
  });

  it("keeps the exact masks of a directory holding a matching name, and never hides a root", () => {
    const m = masks({ dirs: ["/r/a/new", "/r/top"], unscanned: ["/r/a/new", "/r/top"], files: ["/r/a/.env"] });
    expect(liftUnscanned(m, ["/r"])).toBe(m);
    const nested = masks({ dirs: ["/r/inner/x"], unscanned: ["/r/inner/x"] });
    expect(liftUnscanned(nested, ["/r", "/r/inner"])).toBe(nested);
  });

  it("climbs one level per call and keeps the scan's identities for the new holder", () => {
    const ids = new Map([
      ["/r", { dev: 1n, ino: 2n, ctimeNs: 3n }],
      ["/r/a", { dev: 1n, ino: 4n, ctimeNs: 5n }],
      ["/r/a/b", { dev: 1n, ino: 6n, ctimeNs: 7n }],
    ]);
    const once = liftUnscanned(masks({ dirs: ["/r/a/b/c"], unscanned: ["/r/a/b/c"], ids }), ["/r"]);
    expect(once.dirs).toEqual(["/r/a/b"]);
    expect(once.ids?.get("/r/a")).toEqual(ids.get("/r/a"));
    expect(liftUnscanned(once, ["/r"]).dirs).toEqual(["/r/a"]);
  });
});
