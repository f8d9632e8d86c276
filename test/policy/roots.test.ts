import { describe, expect, it } from "vitest";
import { intersectRoots, isWithin } from "../../src/policy/roots.js";

const rw = (path: string) => ({ path, writable: true });
const ro = (path: string) => ({ path, writable: false });
const cwd = rw("/cwd");

describe("isWithin compares whole components", () => {
  it.each([
    ["/a", "/a", true],
    ["/a", "/a/b", true],
    ["/a", "/ab", false],
    ["/a", "/a_x/b", false],
    ["/a", '/a"', false],
    ["/a", "/a ", false],
    ["/a/b", "/a", false],
    ["/", "/anything", true],
    ["/a", "/b/a", false],
  ])("isWithin(%s, %s) = %s", (p, c, want) => expect(isWithin(p, c)).toBe(want));
});

describe("intersectRoots", () => {
  it.each([
    ["no config, no client -> cwd", [], null, [cwd]],
    ["no config, client roots -> client", [], ["/p"], [rw("/p")]],
    ["config only", [rw("/a")], null, [rw("/a")]],
    ["empty client list keeps config", [rw("/a")], [], [rw("/a")]],
    ["client narrower", [rw("/a")], ["/a/b"], [rw("/a/b")]],
    ["client wider is cut to config", [ro("/a/b")], ["/a"], [ro("/a/b")]],
    ["disjoint -> nothing", [rw("/a")], ["/b"], []],
    ["prefix sibling is disjoint", [rw("/a")], ["/a_x"], []],
    ["several pairs", [rw("/a"), ro("/c")], ["/a/x", "/c", "/d"], [rw("/a/x"), ro("/c")]],
    ["same dir twice keeps read-only", [rw("/a"), ro("/a")], null, [ro("/a")]],
    ["trailing slash normalised", [rw("/a/")], ["/a/b/"], [rw("/a/b")]],
  ] as const)("%s", (_name, conf, client, want) => {
    expect(intersectRoots([...conf], client ? [...client] : null, cwd)).toEqual(want);
  });
});
