import { describe, expect, test } from "vitest";
import { OutputFd, OutputLimitExceeded, StdinFd } from "../../../src/sandbox/wasi/stdio.js";

const bytes = (s: string) => new TextEncoder().encode(s);
const text = (b: Uint8Array) => new TextDecoder().decode(b);

describe("OutputFd (stdout: head up to the cap, then stop)", () => {
  test.each([
    [10, ["abc", "def"], "abcdef", false],
    [6, ["abc", "def"], "abcdef", false],
    [5, ["abc", "def"], "abcde", true],
    [0, ["a"], "", true],
    [3, ["", "abc"], "abc", false],
  ])("limit %i, writes %j -> %j (stopped: %s)", (limit, writes, kept, stopped) => {
    const out = new OutputFd(limit, true);
    let threw = false;
    for (const w of writes) {
      try {
        out.append(bytes(w));
      } catch (err) {
        expect(err).toBeInstanceOf(OutputLimitExceeded);
        threw = true;
        break;
      }
    }
    expect(threw).toBe(stopped);
    expect(out.truncated).toBe(stopped);
    expect(text(out.bytes())).toBe(kept);
  });
  test("many writes across chunk boundaries keep every byte in order", () => {
    const out = new OutputFd(1 << 24, true);
    let expected = "";
    for (let i = 0; i < 5000; i++) {
      const s = `${i}:${"x".repeat(i % 97)}\n`;
      out.append(bytes(s));
      expected += s;
    }
    expect(text(out.bytes())).toBe(expected);
  });
});

describe("OutputFd (stdout: fd_allocate announces the whole output)", () => {
  test("over the cap: the run stops at the announcement, with nothing kept", () => {
    const out = new OutputFd(100, true);
    expect(() => out.fd_allocate(0n, 101n)).toThrow(OutputLimitExceeded);
    expect(out.truncated).toBe(true);
    expect(out.bytes().byteLength).toBe(0);
  });
  test("within the cap: the writes after it fill one buffer of that size, in order", () => {
    const out = new OutputFd(1 << 24, true);
    out.append(bytes("head\n"));
    expect(out.fd_allocate(0n, BigInt(5 + 3 * 100_000))).toBe(0);
    for (const c of ["a", "b", "c"]) out.append(bytes(c.repeat(100_000)));
    const all = out.bytes();
    expect(all.byteLength).toBe(5 + 300_000);
    expect(all.buffer.byteLength).toBe(all.byteLength); // no chunks, no final copy
    expect(text(all)).toBe("head\n" + "a".repeat(100_000) + "b".repeat(100_000) + "c".repeat(100_000));
    expect(out.truncated).toBe(false);
  });
  test("an announcement short of the output only sizes the first buffer: the rest still arrives", () => {
    const out = new OutputFd(1 << 24, true);
    expect(out.fd_allocate(0n, 10n)).toBe(0);
    out.append(bytes("x".repeat(70_000)));
    out.append(bytes("y".repeat(70_000)));
    expect(text(out.bytes())).toBe("x".repeat(70_000) + "y".repeat(70_000));
  });
  test("stderr ignores it (ENOTSUP)", () => {
    const err = new OutputFd(10, false);
    expect(err.fd_allocate(0n, 1000n)).not.toBe(0);
    expect(err.truncated).toBe(false);
  });
});

describe("OutputFd (stderr: keeps the tail)", () => {
  test("keeps the last `limit` bytes, so the last line survives", () => {
    const err = new OutputFd(100, false);
    for (let i = 0; i < 1000; i++) err.append(bytes(`noise line ${i}\n`));
    err.append(bytes("ENOENT: the real error\n"));
    const kept = text(err.bytes());
    expect(kept.length).toBe(100);
    expect(kept.endsWith("ENOENT: the real error\n")).toBe(true);
    expect(err.truncated).toBe(true);
  });
  test("short output is kept whole", () => {
    const err = new OutputFd(100, false);
    err.append(bytes("a\n"));
    expect(text(err.bytes())).toBe("a\n");
    expect(err.truncated).toBe(false);
  });
});

describe("StdinFd", () => {
  test("reads in pieces, then EOF", () => {
    const stdin = new StdinFd(bytes("hello"));
    const buf = new Uint8Array(3);
    expect(stdin.readInto(buf)).toEqual({ ret: 0, n: 3 });
    expect(text(buf)).toBe("hel");
    expect(text(stdin.fd_read(10).data)).toBe("lo");
    expect(stdin.fd_read(10).data.byteLength).toBe(0);
  });
});
