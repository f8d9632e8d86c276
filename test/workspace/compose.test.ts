import { execFileSync, spawnSync } from "node:child_process";
import { lstatSync, mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { diffWorkspace, gitPatch, openWorkspace, type WorkspaceHandle } from "../../src/workspace/index.js";
import { makeTempDir, removeDir } from "../support/tree.js";
import { gitView, plain, runInside, snapshot, WS_DRIVERS } from "./helpers.js";
import { applyToSnapshot, initRepo, makeTree, scenarioScript } from "./scenario.js";

// Every driver: kernel overlayfs and fuse-overlayfs write different upper-layer encodings; fuse-overlayfs
// writes `.wh.NAME` files instead of 0:0 devices where it cannot mknod (forced here by its own switch);
// the copy driver writes none (its upper is a whole copy, compared with a baseline).
const CASES = WS_DRIVERS.flatMap((driver) =>
  driver === "fuse"
    ? [{ driver, whiteouts: "0:0 devices" }, { driver, whiteouts: ".wh. files", env: { FUSE_OVERLAYFS_DISABLE_OVL_WHITEOUT: "1" } }]
    : [{ driver, whiteouts: driver === "copy" ? "none (a whole copy)" : "0:0 devices" }],
);
describe.each(CASES)("$driver driver, whiteouts as $whiteouts", ({ driver, env }) => {
  let dir: string;
  let root: string;
  let state: string;
  let h: WorkspaceHandle;
  let lowerBefore: ReturnType<typeof snapshot>;

  beforeAll(async () => {
    dir = makeTempDir(`warden-ws-compose-${driver}-`);
    root = join(dir, "repo");
    state = join(dir, "state");
    mkdirSync(root);
    makeTree(root);
    initRepo(root);
    lowerBefore = snapshot(root);
    h = await openWorkspace({ stateDir: state, name: "scenario", roots: [root], driver, env: { ...process.env, ...env } });
    expect(h.driver).toBe(driver);
    runInside(h, scenarioScript(root));
    // the encoding asked for is the one on disk: rm-dir, deleted, is a whiteout of that kind
    const upper = h.merged[0]!.upperDir;
    if (env) expect(readdirSync(upper)).toContain(".wh.rm-dir");
    else if (driver === "copy") expect(readdirSync(upper)).not.toContain("rm-dir");
    else expect(lstatSync(join(upper, "rm-dir")).isCharacterDevice()).toBe(true);
  });
  afterAll(async () => {
    await h?.close();
    removeDir(dir);
  });

  describe("the change list read from the layers", () => {
    it("leaves the real tree untouched", () => {
      expect(plain(snapshot(root))).toEqual(plain(lowerBefore));
    });

    it("turns the real tree into exactly the driver's merged view", () => {
      const merged = snapshot(h.merged[0]!.viaProc);
      const { roots } = diffWorkspace({ stateDir: state, name: "scenario" });
      expect(roots).toHaveLength(1);
      expect(plain(applyToSnapshot(snapshot(root), roots[0]!.changes))).toEqual(plain(merged));
    });

    it("lists each kind of change once, in order", () => {
      const changes = diffWorkspace({ stateDir: state, name: "scenario" }).roots[0]!.changes;
      const byPath = (p: string) => changes.filter((c) => c.path === p).map((c) => `${c.status}:${(c.new ?? c.old)!.kind}`);
      expect(byPath("docs/guide")).toEqual(["deleted:dir", "added:file"]);
      expect(byPath("data/x.txt")).toEqual(["deleted:file", "added:dir"]);
      expect(byPath("tools/run.sh")).toEqual(["modified:file"]);
      expect(byPath("touched.txt")).toEqual([]); // copied up, not changed
      expect(byPath("opaque/gone.txt")).toEqual(["deleted:file"]);
      expect(byPath("opaque/keep.txt")).toEqual(["modified:file"]);
      expect(byPath("empty-dir")).toEqual(["added:dir"]);
      expect(byPath("src/old/deeper/more.c")).toEqual(["deleted:file"]);
      // deepest first, the directory after what it held
      const order = changes.map((c) => c.path);
      expect(order.indexOf("src/old/deeper/more.c")).toBeLessThan(order.indexOf("src/old"));
    });

    it("gives a patch git apply takes on a copy of the original repository, yielding the merged view", () => {
      const copy = join(dir, "copy");
      execFileSync("cp", ["-a", root, copy]);
      const { patch, skipped } = gitPatch(diffWorkspace({ stateDir: state, name: "scenario" }).roots[0]!.changes);
      expect(skipped).toEqual([]);
      writeFileSync(join(dir, "ws.patch"), patch);
      if (process.env.KEEP_PATCH) writeFileSync(process.env.KEEP_PATCH, patch);
      const check = spawnSync("git", ["apply", "--check", join(dir, "ws.patch")], { cwd: copy, encoding: "utf8" });
      expect(check.stderr).toBe("");
      execFileSync("git", ["apply", join(dir, "ws.patch")], { cwd: copy });
      const skipGit = { skip: (r: string) => r === ".git" };
      expect(gitView(snapshot(copy, skipGit))).toEqual(gitView(snapshot(h.merged[0]!.viaProc, skipGit)));
      // and git itself agrees on which paths changed
      const status = execFileSync("git", ["status", "--porcelain", "-uall"], { cwd: copy, encoding: "utf8" });
      expect(status).toContain("img/logo.png");
    });
  });
});
