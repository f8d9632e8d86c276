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

  it("a key repeated across many objects and depths is written the same each time (escaped once per value)", () => {
    const entries = Array.from({ length: 50 }, (_, i) => (i % 2 ? { size: i, "na\"me": `f${i}`, type: "file" } : { type: "dir", "na\"me": `d${i}`, size: 0 }));
    const sorted = entries.map((e) => ({ 'na"me': e['na"me'], size: e.size, type: e.type }));
    expect(canonicalJson({ entries, nested: { entries } })).toBe(JSON.stringify({ entries: sorted, nested: { entries: sorted } }));
  });

  it("does not depend on key insertion order", () => {
    expect(canonicalJson({ a: 1, b: { c: 1, d: 2 } })).toBe(canonicalJson({ b: { d: 2, c: 1 }, a: 1 }));
  });
});

describe("canonicalJson of long strings (escaped in pieces)", () => {
  it("writes what JSON.stringify writes, also with a surrogate pair, a lone surrogate and escapes at the piece boundaries", () => {
    const piece = 64 * 1024;
    const pair = "\u{1F600}";
    const text = "a".repeat(piece - 1) + pair + "\n\"\\".repeat(10) + "b".repeat(piece - 3) + "\ud800" + "c".repeat(piece) + "é\u0001";
    expect(text.charCodeAt(piece - 1)).toBe(0xd83d);
    expect(canonicalJson(text)).toBe(JSON.stringify(text));
    expect(canonicalJson({ k: [text] })).toBe(JSON.stringify({ k: [text] }));
  });
});
