import { describe, expect, it } from "vitest";
import { toGuestPath } from "../../src/tools/fs/guest-path.js";
import { toPosixEre } from "../../src/tools/fs/posix-regex.js";
import { decodeText, incompleteUtf8Tail, isText } from "../../src/tools/fs/text.js";

const roots = [{ path: "/r/proj", writable: true, aliases: ["/link/proj"] }, { path: "/other", writable: false }];

describe("toGuestPath only respells, never normalises away ..", () => {
  it.each([
    ["a.txt", "/r/proj/a.txt"],
    [".", "/r/proj"],
    ["../x", "/r/proj/../x"],
    ["/etc/passwd", "/etc/passwd"],
    ["/r/proj/../../etc", "/r/proj/../../etc"],
    ["file:///r/proj/a.txt", "/r/proj/a.txt"],
    ["file:///r/proj/a%20b.txt", "/r/proj/a b.txt"],
    ["/link/proj/a.txt", "/r/proj/a.txt"],
    ["/link/proj_x/a.txt", "/link/proj_x/a.txt"],
    ["/other/o.txt", "/other/o.txt"],
  ])("%s -> %s", (input, want) => expect(toGuestPath(input, roots)).toEqual({ ok: true, path: want }));
  it.each([["a\0b"], [""], ["file://host/share/x"]])("%j is refused", (input) => expect(toGuestPath(input, roots).ok).toBe(false));
  it("no roots refuses everything", () => expect(toGuestPath("a", [])).toMatchObject({ ok: false, rule: "roots.none" }));
});

describe("toPosixEre", () => {
  it.each([
    ["foo", "foo"],
    ["\\d+", "\\d+"],
    ["[\\d_]+", "[[:digit:]_]+"],
    ["[\\w-]", "[[:alnum:]_-]"],
    ["(?:ab)+", "(ab)+"],
    ["a\\/b", "a/b"],
    ["\\bword\\b", "\\bword\\b"],
  ])("%s -> %s", (input, want) => expect(toPosixEre(input)).toEqual({ ok: true, pattern: want, icase: false }));
  it("(?i) prefix turns on case-insensitivity", () => expect(toPosixEre("(?i)abc")).toEqual({ ok: true, pattern: "abc", icase: true }));
  it.each([["a(?=b)"], ["a(?!b)"], ["a(?<=b)"], ["a+?"], ["(a)\\1"], ["(["]])("%s is refused with a message", (input) => {
    const r = toPosixEre(input);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.message.length).toBeGreaterThan(10);
  });
});

describe("text detection", () => {
  it.each([
    [Buffer.from("héllo"), 0],
    [Buffer.from("hé").subarray(0, 2), 1],
    [Buffer.from("日").subarray(0, 2), 2],
    [Buffer.from("😀").subarray(0, 3), 3],
    [Buffer.from("😀"), 0],
    [Buffer.from(""), 0],
  ])("incomplete tail of %j is %d", (b, n) => expect(incompleteUtf8Tail(b)).toBe(n));
  it("binary vs text", () => {
    expect(isText(Buffer.from("plain\n"))).toBe(true);
    expect(isText(Buffer.from([0x61, 0, 0x62]))).toBe(false);
    expect(isText(Buffer.from([0xff, 0xfe]))).toBe(false);
  });
  it.each([
    ["ascii", Buffer.from("plain\n"), "plain\n"],
    ["utf-8", Buffer.from("héllo 😀"), "héllo 😀"],
    ["a BOM is kept", Buffer.from("\ufeffbom"), "\ufeffbom"],
    ["empty", Buffer.from(""), ""],
    ["NUL", Buffer.from([0x61, 0, 0x62]), null],
    ["invalid byte", Buffer.from([0x61, 0xff]), null],
    ["lone surrogate", Buffer.from([0xed, 0xa0, 0x80]), null],
    ["overlong", Buffer.from([0xc0, 0xaf]), null],
    ["latin1 only", Buffer.from([0xe9]), null],
  ])("decodeText: %s", (_name, bytes, want) => {
    expect(decodeText(bytes)).toBe(want);
    expect(isText(bytes)).toBe(want !== null);
  });
});
