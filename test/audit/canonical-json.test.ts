import { describe, expect, it } from "vitest";
import { canonicalJson } from "../../src/audit/canonical-json.js";

describe("canonicalJson", () => {
  it.each([
    [{ b: 1, a: 2 }, '{"a":2,"b":1}'],
    [{ z: { y: 1, x: [3, { d: 1, c: 2 }] } }, '{"z":{"x":[3,{"c":2,"d":1}],"y":1}}'],
    [{ a: undefined, b: null, c: () => 1 }, '{"b":null}'],
    [[undefined, 1], "[null,1]"],
    ["é\n\"", '"é\\n\\""'],
    [1e21, "1e+21"],
    [-0, "0"],
    [NaN, "null"],
    [{ B: 1, a: 2, _: 3 }, '{"B":1,"_":3,"a":2}'],
  ])("%j", (value, expected) => {
    expect(canonicalJson(value)).toBe(expected);
  });

  it("does not depend on key insertion order", () => {
    expect(canonicalJson({ a: 1, b: { c: 1, d: 2 } })).toBe(canonicalJson({ b: { d: 2, c: 1 }, a: 1 }));
  });
});
