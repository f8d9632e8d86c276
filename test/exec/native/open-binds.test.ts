import { lstatSync, mkdirSync, renameSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { RootHolder } from "../../../src/config/held-roots.js";
import { openBinds } from "../../../src/exec/native/open-binds.js";
import { cleanup, tempDir } from "../support.js";

describe("openBinds (real trees)", () => {
  let base: string;
  let holder: RootHolder;
  beforeEach(() => {
    base = tempDir("binds");
    mkdirSync(join(base, "a", "sub", "ro"), { recursive: true });
    mkdirSync(join(base, "a", "x"), { recursive: true });
    writeFileSync(join(base, "a", "x", ".env"), "S=1\n");
    holder = new RootHolder();
  });
  afterEach(() => {
    holder.close();
    cleanup(base);
  });
  /** Directories as a deny scan judged them now. */
  const judged = (...paths: string[]) =>
    new Map(
      paths.map((p) => {
        const st = lstatSync(p, { bigint: true });
        return [p, { dev: st.dev, ino: st.ino, ctimeNs: st.ctimeNs }];
      }),
    );
  const roots = () => [
    { path: join(base, "a"), writable: true, held: holder.hold(join(base, "a")) },
    { path: join(base, "a", "sub", "ro"), writable: false, held: holder.hold(join(base, "a", "sub", "ro")) },
  ];

  it("hands over held roots, and pins every directory between a root and a nested one or a mask, with its innermost root's access", () => {
    const r = roots();
    const b = openBinds(r, [join(base, "a", "x")], judged(join(base, "a", "x")));
    try {
      expect(b.roots.map((x) => [x.path, x.fd, x.writable])).toEqual([
        [join(base, "a"), r[0]!.held.fd, true],
        [join(base, "a", "sub", "ro"), r[1]!.held.fd, false],
      ]);
      expect(b.pins.map((p) => [p.path, p.writable]).sort()).toEqual([
        [join(base, "a", "sub"), true],
        [join(base, "a", "x"), true],
      ]);
    } finally {
      b.release();
    }
  });

  it("refuses a nested root whose parent was replaced by a symlink leading back to it (roots.moved, named)", () => {
    const r = roots();
    renameSync(join(base, "a", "sub"), join(base, "a", "sub2"));
    symlinkSync("sub2", join(base, "a", "sub")); // the path still leads to the held directory, through a link
    expect(() => openBinds(r, [])).toThrow(expect.objectContaining({ rule: "roots.moved", message: expect.stringContaining(join(base, "a", "sub", "ro")) }));
  });

  it("refuses a root whose path leads to another directory now", () => {
    const r = roots();
    renameSync(join(base, "a"), join(base, "a-old"));
    mkdirSync(join(base, "a"));
    expect(() => openBinds(r, [])).toThrow(expect.objectContaining({ rule: "roots.moved" }));
  });

  it("refuses a pin swapped for a symlink (sandbox.changed), and never follows it", () => {
    const r = roots();
    rmSync(join(base, "a", "x"), { recursive: true });
    symlinkSync("/", join(base, "a", "x"));
    expect(() => openBinds(r, [join(base, "a", "x")], judged(join(base, "a", "x")))).toThrow(expect.objectContaining({ rule: "sandbox.changed" }));
  });

  it("refuses a pin that is another directory than the one the deny scan judged (swapped in between)", () => {
    const r = roots();
    const seen = judged(join(base, "a", "x"));
    mkdirSync(join(base, "a", "y"));
    renameSync(join(base, "a", "x"), join(base, "a", "z"));
    renameSync(join(base, "a", "y"), join(base, "a", "x")); // a directory again, but not the one judged
    expect(() => openBinds(r, [join(base, "a", "x")], seen)).toThrow(expect.objectContaining({ rule: "sandbox.changed" }));
    expect(() => openBinds(r, [join(base, "a", "x")])).toThrow(expect.objectContaining({ rule: "sandbox.changed" })); // never judged
    openBinds(r, [join(base, "a", "x")], judged(join(base, "a", "x"))).release();
  });

  it("refuses a root the deny scan judged as another directory", () => {
    const r = roots();
    const other = judged(join(base, "a", "x"));
    const seen = new Map([[join(base, "a"), other.get(join(base, "a", "x"))!]]);
    expect(() => openBinds(r, [], seen)).toThrow(expect.objectContaining({ rule: "sandbox.changed" }));
  });
});
