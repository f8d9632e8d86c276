import { mkdirSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RootHolder } from "../../src/config/held-roots.js";
import { canonicalRoot, refuseLinkedRoots, RootError } from "../../src/config/resolve-roots.js";
import { makeTempDir, removeDir } from "../support/tree.js";

describe("configured roots", () => {
  let base: string;
  const holder = new RootHolder();
  beforeAll(() => {
    base = makeTempDir("warden-roots-");
    mkdirSync(join(base, "a", "sub"), { recursive: true });
    mkdirSync(join(base, "elsewhere"));
    symlinkSync("/", join(base, "a", "sub", "ro")); // planted by something that ran in a
    symlinkSync(join(base, "elsewhere"), join(base, "link"));
  });
  afterAll(() => {
    holder.close();
    removeDir(base);
  });

  it("refuses a root configured through a symlink planted inside a writable root", () => {
    const roots = [canonicalRoot(join(base, "a"), true, base, undefined, holder), canonicalRoot(join(base, "a", "sub", "ro"), false, base, undefined, holder)];
    expect(roots[1]!.path).toBe("/");
    expect(() => refuseLinkedRoots(roots)).toThrow(RootError);
    expect(() => refuseLinkedRoots(roots)).toThrow(/inside the writable root .* give the real path/);
  });

  it("accepts a symlinked root outside every writable root, and holds each root by descriptor", () => {
    const roots = [canonicalRoot(join(base, "a"), true, base, undefined, holder), canonicalRoot(join(base, "link"), false, base, undefined, holder)];
    expect(() => refuseLinkedRoots(roots)).not.toThrow();
    expect(roots[1]).toMatchObject({ path: join(base, "elsewhere"), aliases: [join(base, "link")], held: { fd: expect.any(Number) } });
  });

  it("a held root whose path now leads elsewhere is not re-resolved", () => {
    mkdirSync(join(base, "c"));
    const first = holder.hold(join(base, "c"));
    expect(holder.hold(join(base, "c"))).toBe(first);
    removeDir(join(base, "c"));
    mkdirSync(join(base, "c"));
    expect(() => holder.hold(join(base, "c"))).toThrow(/no longer the directory the server opened/);
  });
});
