import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  checkpointWorkspace,
  diffWorkspace,
  discardWorkspace,
  forkWorkspace,
  listWorkspaces,
  openWorkspace,
  resetWorkspace,
  type WorkspaceHandle,
} from "../../src/workspace/index.js";
import { makeTempDir, removeDir } from "../support/tree.js";
import { plain, runInside, snapshot, WS_DRIVERS } from "./helpers.js";
import { applyToSnapshot } from "./scenario.js";

describe.each(WS_DRIVERS)("%s driver", (driver) => {
  let dir: string;
  let root: string;
  let state: string;

  beforeAll(() => {
    dir = makeTempDir(`warden-ws-life-${driver}-`);
    root = join(dir, "proj");
    state = join(dir, "state");
    mkdirSync(join(root, "lib"), { recursive: true });
    writeFileSync(join(root, "a.txt"), "a0\n");
    writeFileSync(join(root, "lib", "l.txt"), "l0\n");
    writeFileSync(join(root, "lib", "m.txt"), "m0\n");
  });
  afterAll(() => removeDir(dir));

  async function session<T>(name: string, fn: (h: WorkspaceHandle) => T): Promise<T> {
    const h = await openWorkspace({ stateDir: state, name, roots: [root], driver });
    try {
      return fn(h);
    } finally {
      await h.close();
    }
  }

  const merged = (name: string) => session(name, (h) => plain(snapshot(h.merged[0]!.viaProc)));
  const changeList = (name: string) => diffWorkspace({ stateDir: state, name }).roots[0]!.changes.map((c) => `${c.status[0]} ${c.path}`);

  describe("checkpoint, reset, fork, discard", () => {
    it("checkpoints stack as layers; the merged view and the diff compose them like the driver", async () => {
      await session("life", (h) => runInside(h, `cd '${root}'; echo a1 > a.txt; rm lib/m.txt; mkdir new; echo n1 > new/n.txt`));
      const c1 = checkpointWorkspace({ stateDir: state, name: "life", label: "first" });
      expect(c1.label).toBe("first");
      await session("life", (h) => runInside(h, `cd '${root}'; echo a2 > a.txt; rm -rf lib; mkdir lib; echo fresh > lib/f.txt; rm -rf new; echo m-back > lib/m.txt`));
      expect(checkpointWorkspace({ stateDir: state, name: "life" }).label).toBe("checkpoint-2");
      await session("life", (h) => runInside(h, `cd '${root}'; echo a3 > a.txt; rm lib/f.txt`));
      // three layers deep: the change list still turns the real tree into the kernel's view
      const view = await merged("life");
      expect(view["a.txt"]).toBeDefined();
      expect(plain(applyToSnapshot(snapshot(root), diffWorkspace({ stateDir: state, name: "life" }).roots[0]!.changes))).toEqual(view);
      expect(changeList("life")).toEqual(["m a.txt", "d lib/l.txt", "m lib/m.txt"]);
      expect(listWorkspaces({ stateDir: state }).find((w) => w.name === "life")?.checkpoints.map((c) => c.label)).toEqual(["first", "checkpoint-2"]);
    });

    it("reset drops what came after a checkpoint; fork starts a new workspace from one", async () => {
      forkWorkspace({ stateDir: state, name: "life", newName: "from-first", from: "first" });
      forkWorkspace({ stateDir: state, name: "life", newName: "copy-now" });
      resetWorkspace({ stateDir: state, name: "life" }); // back to checkpoint-2
      await session("life", (h) => expect(readFileSync(join(h.merged[0]!.viaProc, "a.txt"), "utf8")).toBe("a2\n"));
      expect(resetWorkspace({ stateDir: state, name: "life", to: "first" }).to).toBe("first");
      await session("life", (h) => {
        expect(readFileSync(join(h.merged[0]!.viaProc, "a.txt"), "utf8")).toBe("a1\n");
        expect(readFileSync(join(h.merged[0]!.viaProc, "new", "n.txt"), "utf8")).toBe("n1\n");
      });
      expect(listWorkspaces({ stateDir: state }).find((w) => w.name === "life")?.checkpoints.map((c) => c.label)).toEqual(["first"]);
      // layers dropped by reset are gone from disk
      expect(readdirSync(join(state, "workspaces", "life", "roots", "0", "layers"))).toHaveLength(2);
      expect(changeList("from-first")).toEqual(["m a.txt", "d lib/m.txt", "a new", "a new/n.txt"]);
      await session("copy-now", (h) => expect(readFileSync(join(h.merged[0]!.viaProc, "a.txt"), "utf8")).toBe("a3\n"));
      // a fork is independent of its source
      await session("from-first", (h) => runInside(h, `echo forked > '${root}/a.txt'`));
      await session("life", (h) => expect(readFileSync(join(h.merged[0]!.viaProc, "a.txt"), "utf8")).toBe("a1\n"));
      expect(listWorkspaces({ stateDir: state }).find((w) => w.name === "from-first")?.forkedFrom).toEqual({ name: "life", label: "first" });
      // a fork's layers are in its source's encoding: it keeps the driver
      expect(listWorkspaces({ stateDir: state }).find((w) => w.name === "from-first")?.driver).toBe(driver);
    });

    it("refuses what would lose or confuse work, naming the rule", async () => {
      expect(() => checkpointWorkspace({ stateDir: state, name: "life", label: "first" })).toThrow("already has a checkpoint labelled first");
      expect(() => checkpointWorkspace({ stateDir: state, name: "life", label: "no spaces" })).toThrow("invalid checkpoint label");
      expect(() => resetWorkspace({ stateDir: state, name: "life", to: "nope" })).toThrow("has no checkpoint labelled nope (it has: first)");
      expect(() => forkWorkspace({ stateDir: state, name: "life", newName: "from-first" })).toThrow("a workspace named from-first already exists");
      const h = await openWorkspace({ stateDir: state, name: "life", roots: [root] });
      try {
        expect(() => checkpointWorkspace({ stateDir: state, name: "life" })).toThrow(/cannot checkpoint workspace life: it is live/);
        expect(() => discardWorkspace({ stateDir: state, name: "life" })).toThrow(/cannot discard workspace life: it is live/);
        expect(() => forkWorkspace({ stateDir: state, name: "life", newName: "moving" })).toThrow(/cannot fork workspace life: it is live/);
        forkWorkspace({ stateDir: state, name: "life", newName: "from-live", from: "first" }); // a checkpoint does not move
      } finally {
        await h.close();
      }
    });

    it("discard removes the workspace and nothing else", async () => {
      const before = plain(snapshot(root));
      discardWorkspace({ stateDir: state, name: "copy-now" });
      expect(existsSync(join(state, "workspaces", "copy-now"))).toBe(false);
      expect(listWorkspaces({ stateDir: state }).map((w) => w.name)).not.toContain("copy-now");
      expect(plain(snapshot(root))).toEqual(before);
      expect(readdirSync(join(state, "workspaces")).filter((n) => n.startsWith("."))).toEqual([]);
    });
  });
});
