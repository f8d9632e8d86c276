import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { listWorkspaces, TEST_REFUSE_ENV } from "../../src/workspace/index.js";
import { requireBinary } from "../support/engines/require-binary.js";
import { seen } from "../support/modes.js";
import { canary, makeTempDir, removeDir, treeDigest, writeTree } from "../support/tree.js";
import { CLI, startWarden } from "../support/warden-client.js";
import { pathWithout } from "../workspace/helpers.js";

/**
 * Driver selection through the real server: `--overlay-driver fuse` forced, `auto` falling back to
 * fuse when the kernel really refuses the mount (the documented test hook gives the kernel's mount an
 * option it does not know), and fuse-overlayfs missing from PATH (a directory of links to every
 * program but it): a clear error when forced, a reason in auto's list when nothing works.
 */
let base: string;
let root: string;
let state: string;
let noFusePath: string;
let secret: string;

beforeAll(() => {
  requireBinary("bwrap", "bubblewrap");
  requireBinary("fuse-overlayfs", "fuse-overlayfs");
  base = makeTempDir("warden-ovdriver-");
  root = join(base, "proj");
  state = join(base, "state");
  secret = canary("REAL");
  writeTree(base, { "proj/a.txt": "a\n", "proj/canary.txt": secret, "proj/src/old.c": "old\n" });
  // PATH without fuse-overlayfs: links to everything else in the usual directories.
  noFusePath = pathWithout(base, "fuse-overlayfs");
});
afterAll(() => removeDir(base));

type Info = { workspace: { mode: string; driver: string; driver_fallback_from?: Array<{ driver: string; reason: string }> } };

describe("serve --overlay picks a driver and says which, and why", () => {
  it("--overlay-driver fuse: tools and commands share the fuse-overlayfs view; the real tree is untouched", async () => {
    const before = treeDigest(root);
    const w = await startWarden(["--root", root, "--overlay", "--overlay-driver", "fuse", "--workspace", "forced", "--state-dir", state]);
    try {
      expect(w.stderr()).toMatch(/copy-on-write workspace forced \(driver: fuse; state dir/);
      expect((await w.call("write_file", { path: "a.txt", content: "by a tool\n" })).isError).toBeFalsy();
      const cmd = await w.call("execute_command", { command: "cat a.txt && rm canary.txt src/old.c && echo made > made.txt && grep -c fuse-overlayfs /proc/self/mountinfo" });
      expect(cmd.isError, w.text(cmd)).toBeFalsy();
      expect(w.text(cmd)).toContain("by a tool");
      expect(w.text(await w.call("read_file", { path: "made.txt" }))).toContain("made");
      expect(readFileSync(seen("overlay", w, join(root, "a.txt")), "utf8")).toBe("by a tool\n");
      const info = (await w.call("get_system_info", {})).structuredContent as Info;
      expect(info.workspace).toMatchObject({ mode: "overlay", driver: "fuse" });
      expect(info.workspace.driver_fallback_from).toBeUndefined();
      expect(treeDigest(root)).toBe(before);
    } finally {
      await w.close();
    }
    expect(listWorkspaces({ stateDir: state }).find((x) => x.name === "forced")).toMatchObject({ driver: "fuse", state: "closed" });
    // Its layers are in fuse-overlayfs's encoding: another driver is refused by name, nothing changed.
    const r = spawnSync(process.execPath, [CLI, "serve", "--root", root, "--overlay", "--overlay-driver", "kernel", "--workspace", "forced", "--state-dir", state], { encoding: "utf8", input: "" });
    expect(r.stderr).toMatch(/workspace forced was made with the fuse driver .* open it with --overlay-driver fuse \(or auto\)/);
    expect(r.status).toBe(2);
  });

  it("auto: the kernel refuses the mount, fuse takes over; the start-up line and get_system_info say why", async () => {
    const w = await startWarden(["--root", root, "--overlay", "--workspace", "fell-back", "--state-dir", state], { env: { [TEST_REFUSE_ENV]: "kernel" } });
    try {
      expect(w.stderr()).toMatch(/\(driver: fuse, because kernel was not usable: kernel overlayfs refused: mount: .*; state dir/);
      const info = (await w.call("get_system_info", {})).structuredContent as Info;
      expect(info.workspace.driver).toBe("fuse");
      expect(info.workspace.driver_fallback_from).toEqual([{ driver: "kernel", reason: expect.stringMatching(/^kernel overlayfs refused: mount: /) }]);
      const cmd = await w.call("execute_command", { command: "echo via-fuse > new.txt" });
      expect(cmd.isError, w.text(cmd)).toBeFalsy();
    } finally {
      await w.close();
    }
    expect(existsSync(join(root, "new.txt"))).toBe(false);
  });
});

describe("fuse-overlayfs missing", () => {
  const serve = (args: string[], env: Record<string, string> = {}) =>
    spawnSync(process.execPath, [CLI, "serve", "--root", root, "--overlay", "--state-dir", state, ...args], { encoding: "utf8", input: "", env: { ...process.env, PATH: noFusePath, ...env } });

  it("forced: a clear error naming the package; no workspace is left behind", () => {
    const r = serve(["--overlay-driver", "fuse", "--workspace", "no-fuse"]);
    expect(r.stderr).toMatch(/the fuse overlay driver cannot be used here: fuse-overlayfs is not installed \(not found on PATH\); install the fuse-overlayfs package/);
    expect(r.status).toBe(1);
    expect(existsSync(join(state, "workspaces", "no-fuse"))).toBe(false);
  });

  it("auto, with the kernel refusing too: the copy driver, last, and the start-up line says why", async () => {
    const w = await startWarden(["--root", root, "--overlay", "--workspace", "copy-last", "--state-dir", state], { env: { PATH: noFusePath, [TEST_REFUSE_ENV]: "kernel" } });
    try {
      expect(w.stderr()).toMatch(/\(driver: copy, because kernel was not usable: kernel overlayfs refused: .*; fuse was not usable: fuse-overlayfs is not installed/);
    } finally {
      await w.close();
    }
  });

  it("auto, with the kernel and the copy's bind refusing too: one error naming every driver tried and its cause", () => {
    const r = serve(["--workspace", "none-works"], { [TEST_REFUSE_ENV]: "kernel,copy" });
    expect(r.stderr).toMatch(/no copy-on-write driver works here; tried kernel \(kernel overlayfs refused: mount: .*\); then fuse \(fuse-overlayfs is not installed.*\); then copy \(the copy driver's bind mount was refused/);
    expect(r.status).toBe(1);
    expect(existsSync(join(state, "workspaces", "none-works"))).toBe(false);
  });

  it("auto, the kernel working: fuse-overlayfs is never needed", async () => {
    const w = await startWarden(["--root", root, "--overlay", "--workspace", "kernel-ok", "--state-dir", state], { env: { PATH: noFusePath } });
    try {
      expect(w.stderr()).toMatch(/\(driver: kernel; state dir/);
    } finally {
      await w.close();
    }
  });
});
