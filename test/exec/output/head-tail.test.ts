import { describe, expect, it } from "vitest";
import { HeadTailBuffer } from "../../../src/exec/output/head-tail.js";

/** Reference: what head+tail should hold for the whole input. */
function expected(all: Buffer, cap: number): string {
  if (all.length <= cap) return all.toString();
  const head = Math.ceil(cap / 2);
  const tail = cap - head;
  return `${all.subarray(0, head)}\n[... ${all.length - cap} bytes truncated ...]\n${all.subarray(all.length - tail)}`;
}

describe("HeadTailBuffer", () => {
  const caps = [1, 2, 7, 64, 1000, 20_000]; // 20 000: the head grows past its first 4 KiB
  const chunkings = [[1], [3, 5], [100], [999, 1, 2], [7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7]];
  const totals = [0, 1, 5, 63, 64, 65, 500, 3000, 12_000, 50_000];
  for (const cap of caps)
    for (const sizes of chunkings)
      for (const total of totals) {
        it(`cap ${cap}, chunks ${sizes.slice(0, 3).join(",")}, total ${total}`, () => {
          const all = Buffer.from(Array.from({ length: total }, (_, i) => String.fromCharCode(97 + (i % 26))).join(""));
          const buf = new HeadTailBuffer(cap);
          let at = 0;
          for (let i = 0; at < total; i++) {
            const n = sizes[i % sizes.length]!;
            buf.push(all.subarray(at, at + n));
            at += n;
          }
          expect(buf.total).toBe(total);
          expect(buf.truncated).toBe(total > cap);
          expect(buf.text()).toBe(expected(all, cap));
        });
      }
});
