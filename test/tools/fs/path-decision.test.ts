import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parsePolicy } from "../../../src/config/load-policy.js";
import { createSandbox } from "../../../src/sandbox/index.js";
import { decidePath } from "../../../src/tools/fs/path-decision.js";
import type { ToolContext } from "../../../src/tools/tool.js";
import { canary, makeTempDir, removeDir, writeTree } from "../../support/tree.js";

/** decidePath: the file tools' answer for a path, from the real resolver (warden check --path, audit replay). */
const base = makeTempDir("warden-pathdecision-");
const rw = join(base, "rw");
const ro = join(base, "ro");
const sandbox = createSandbox({ workers: 1 });
beforeAll(() => {
  writeTree(base, { "rw/a.txt": "a", "rw/.env": "x", "ro/r.txt": "r", "outside/secret.txt": canary(), "rw/out": { link: "../outside" } });
});
afterAll(async () => {
  await sandbox.close();
  removeDir(base);
});

const ctx = (): ToolContext => ({
  roots: async () => [
    { path: rw, writable: true },
    { path: ro, writable: false },
  ],
  sandbox,
  policy: parsePolicy({ filesystem: { deny: ["**/.env", "**/*.key"] } }),
  services: {},
  progress: async () => {},
  signal: new AbortController().signal,
  session: "test",
});

describe("decidePath", () => {
  it.each([
    ["an existing file, read", "a.txt", false, true, "allow"],
    ["a relative path whose directories do not exist yet, written: judged by the nearest that does", "new/deeper.txt", true, true, "allow"],
    ["a relative new file, written", "new.txt", true, true, "allow"],
    ["a new file in a read-only root", join(base, "ro", "new.txt"), true, false, "filesystem.read_only"],
    ["an existing file in a read-only root, written", join(base, "ro", "r.txt"), true, false, "filesystem.read_only"],
    ["the same, read", join(base, "ro", "r.txt"), false, true, "allow"],
    ["a denied name", ".env", false, false, "filesystem.deny:**/.env"],
    ["a denied name that does not exist yet, written", "x.key", true, false, "filesystem.deny:**/*.key"],
    ["outside every root", join(base, "outside", "secret.txt"), false, false, "roots.outside"],
    ["through a symlink that leaves the root", "out/secret.txt", false, false, undefined],
  ])("%s", async (_what, path, write, allow, rule) => {
    const d = await decidePath(ctx(), path, write);
    expect(d.allow).toBe(allow);
    if (rule) expect(d.rule).toBe(rule);
    expect(d.reason).not.toMatch(/CANARY/);
  });
});
