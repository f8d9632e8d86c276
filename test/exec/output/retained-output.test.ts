import { describe, expect, it } from "vitest";
import { incompleteUtf8Tail, RetainedOutput } from "../../../src/exec/output/retained-output.js";

describe("RetainedOutput", () => {
  it.each([
    [10, [3, 3, 3], 0, "abcdefghi", 0],
    [10, [4, 4, 4], 0, "cdefghijkl", 2],
    [10, [25], 0, "pqrstuvwxy", 15],
    [10, [6, 6], 1, "cdefghijkl", 2],
    [10, [6, 6], 5, "fghijkl", 5],
    [10, [6, 6], 8, "ijkl", 8],
    [10, [6, 6], 12, "", 12],
    [10, [6, 6], 50, "", 12],
  ])("cap %i chunks %j read from %i", (cap, chunks, from, text, offset) => {
    const out = new RetainedOutput(cap);
    const all = "abcdefghijklmnopqrstuvwxyz";
    let at = 0;
    for (const n of chunks) {
      out.push(Buffer.from(all.slice(at, at + n)));
      at += n;
    }
    const r = out.read(from, 1000);
    expect(r.bytes.toString()).toBe(text);
    expect(r.offset).toBe(offset);
    expect(out.end).toBe(at);
  });

  it("limits a read to max bytes", () => {
    const out = new RetainedOutput(100);
    out.push(Buffer.from("0123456789"));
    expect(out.read(2, 3).bytes.toString()).toBe("234");
  });

  it.each([
    ["ascii", "abc", 0],
    ["complete 2-byte", "é", 0],
    ["cut 2-byte", Buffer.from("é").subarray(0, 1), 1],
    ["cut 3-byte after 1", Buffer.from("€").subarray(0, 1), 1],
    ["cut 3-byte after 2", Buffer.from("€").subarray(0, 2), 2],
    ["cut 4-byte after 3", Buffer.from("😀").subarray(0, 3), 3],
    ["complete 4-byte", "😀", 0],
  ])("incompleteUtf8Tail: %s", (_n, input, cut) => {
    expect(incompleteUtf8Tail(Buffer.from(input as string))).toBe(cut);
  });
});
