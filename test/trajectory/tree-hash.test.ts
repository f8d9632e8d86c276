import { chmodSync, mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { treeDifferences, treeHash } from "../../src/trajectory/tree-hash.js";
import { canary, makeTempDir, removeDir, writeTree } from "../support/tree.js";

let base: string;
beforeAll(() => {
  base = makeTempDir("warden-treehash-");
});
afterAll(() => removeDir(base));

function tree(name: string, spec: Parameters<typeof writeTree>[1]): string {
  const dir = join(base, name);
  mkdirSync(dir);
  writeTree(dir, spec);
  return dir;
}

describe("treeHash", () => {
  it("the same files hash alike wherever they are and whenever they were made", () => {
    const a = tree("a", { "x.txt": "1\n", "d/y.txt": "2\n", "d/e/": { dir: true } });
    const b = tree("b", { "d/y.txt": "2\n", "x.txt": "1\n", "d/e/": { dir: true } });
    expect(treeHash(a).hash).toBe(treeHash(b).hash);
  });

  it.each([
    ["a file's bytes", (d: string) => writeFileSync(join(d, "x.txt"), "changed\n"), ["x.txt"]],
    ["a file's mode", (d: string) => chmodSync(join(d, "x.txt"), 0o755), ["x.txt"]],
    ["a new empty directory", (d: string) => mkdirSync(join(d, "empty")), ["empty"]],
    ["a symlink's target", (d: string) => symlinkSync("x.txt", join(d, "l")), ["l"]],
  ])("%s changes the hash and is named", (what, change, paths) => {
    const tag = what.replace(/\W+/g, "-");
    const a = tree(`${tag}-a`, { "x.txt": "1\n" });
    const b = tree(`${tag}-b`, { "x.txt": "1\n" });
    change(b);
    const [ha, hb] = [treeHash(a), treeHash(b)];
    expect(ha.hash).not.toBe(hb.hash);
    expect(treeDifferences(ha, hb)).toEqual(paths);
  });

  it("never follows a symlink: an outside directory's canary is neither read nor walked", () => {
    const outside = tree("outside", { "secret.txt": canary() });
    const dir = tree("in", { "ok.txt": "1\n", "abs": { link: outside }, "file": { link: join(outside, "secret.txt") } });
    const h = treeHash(dir);
    expect([...h.entries.keys()]).toEqual(["abs", "file", "ok.txt"]);
    expect(h.entries.get("abs")).toMatch(/^link [0-9a-f]{64}$/);
    writeFileSync(join(outside, "secret.txt"), canary());
    expect(treeHash(dir).hash).toBe(h.hash);
  });
});
