import { describe, expect, it } from "vitest";
import { describeSource, emptyIntersectionReason, intersectRoots, isWithin } from "../../src/policy/roots.js";

const rw = (path: string) => ({ path, writable: true });
const ro = (path: string) => ({ path, writable: false });
const cwd = rw("/cwd");
/** A client root inside configured root `within`, with that root's access. */
const fromClient = (path: string, writable = true, within?: string) => ({ path, writable, source: "client", ...(within ? { within } : {}) });

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
    ["no config, client roots -> client", [], ["/p"], [fromClient("/p")]],
    ["config only", [rw("/a")], null, [rw("/a")]],
    ["empty client list keeps config", [rw("/a")], [], [rw("/a")]],
    ["client narrower", [rw("/a")], ["/a/b"], [fromClient("/a/b", true, "/a")]],
    ["client equal keeps the configured root", [{ ...ro("/a"), source: "policy" }], ["/a"], [{ ...ro("/a"), source: "policy" }]],
    ["client wider is cut to config", [ro("/a/b")], ["/a"], [ro("/a/b")]],
    ["disjoint -> nothing", [rw("/a")], ["/b"], []],
    ["prefix sibling is disjoint", [rw("/a")], ["/a_x"], []],
    ["several pairs", [rw("/a"), ro("/c")], ["/a/x", "/c", "/d"], [fromClient("/a/x", true, "/a"), ro("/c")]],
    ["same dir twice keeps read-only", [rw("/a"), ro("/a")], null, [ro("/a")]],
    ["trailing slash normalised", [rw("/a/")], ["/a/b/"], [fromClient("/a/b", true, "/a")]],
  ] as const)("%s", (_name, conf, client, want) => {
    expect(intersectRoots([...conf], client ? [...client] : null, cwd)).toEqual(want);
  });
});

describe("emptyIntersectionReason", () => {
  const a = { ...rw("/a"), source: "--root" as const };
  it("explains a disjoint pair: both sides, the empty intersection and both fixes", () => {
    const why = emptyIntersectionReason([a], ["/b"], []);
    expect(why).toContain("client's roots (/b)");
    expect(why).toContain("configured roots (/a (read-write, --root))");
    expect(why).toContain("intersection is empty");
    expect(why).toContain("Start the client in or below a configured root");
    expect(why).toContain("--client-roots ignore");
    expect(why).toContain('"client_roots": "ignore"');
  });
  it.each([
    ["roots remain", [a], ["/a/x"], [rw("/a/x")]],
    ["nothing configured", [], ["/b"], []],
    ["no client roots", [a], null, []],
  ] as const)("nothing to explain when %s", (_name, conf, client, effective) => {
    expect(emptyIntersectionReason([...conf], client ? [...client] : null, [...effective])).toBeUndefined();
  });
});

describe("describeSource", () => {
  it.each([
    [{ ...rw("/a"), source: "--root" as const }, "read-write, --root"],
    [{ ...ro("/a"), source: "--read-only" as const }, "read-only, --read-only"],
    [{ ...ro("/a"), source: "policy" as const }, "read-only, policy"],
    [{ ...rw("/a/b"), source: "client" as const, within: "/a" }, "read-write, client root inside /a"],
    [{ ...rw("/p"), source: "client" as const }, "read-write, client root"],
    [{ ...rw("/cwd"), source: "cwd" as const }, "read-write, working directory"],
    [rw("/x"), "read-write"],
  ])("%o -> %s", (root, want) => expect(describeSource(root)).toBe(want));
});
