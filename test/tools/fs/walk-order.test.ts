import { describe, expect, test } from "vitest";
import { compareWalkOrder, mergeWalkOrder } from "../../../src/tools/fs/walk-order.js";

/* The search module's walk order: depth-first, each directory's entries sorted by name bytes. */

describe("compareWalkOrder", () => {
  test("sorts like the walk: a directory's contents come before a sibling that sorts after its name", () => {
    const walk = ["a/x.txt", "a/y/z.txt", "a.b/k.txt", "a.txt", "b.txt", "c/d/e.txt", "c/f.txt", "z.txt", "~.txt", "é.txt", "\u{ffff}.txt", "😀.txt"];
    const shuffled = [...walk].reverse();
    expect(shuffled.sort(compareWalkOrder)).toEqual(walk);
  });
  test("equal paths compare equal", () => expect(compareWalkOrder("a/b", "a/b")).toBe(0));
});

describe("mergeWalkOrder", () => {
  test("merges shards, keeping each shard's own order for one path (lines of one file)", () => {
    const a = [{ p: "a/x", l: 1 }, { p: "a/x", l: 5 }, { p: "c", l: 2 }];
    const b = [{ p: "a.txt", l: 1 }, { p: "b", l: 3 }, { p: "b", l: 4 }];
    const c = [{ p: "a/y", l: 9 }];
    expect(mergeWalkOrder([a, b, c], (m) => m.p).map((m) => `${m.p}:${m.l}`)).toEqual(["a/x:1", "a/x:5", "a/y:9", "a.txt:1", "b:3", "b:4", "c:2"]);
  });
  test("no lists, one list", () => {
    expect(mergeWalkOrder([], (m: string) => m)).toEqual([]);
    expect(mergeWalkOrder([["b", "a"]], (m) => m)).toEqual(["b", "a"]);
  });
});
