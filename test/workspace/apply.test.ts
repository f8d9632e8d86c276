import { spawn } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { applyWorkspace, diffWorkspace, openWorkspace } from "../../src/workspace/index.js";
import { makeTempDir, removeDir } from "../support/tree.js";
import { plain, runInside, snapshot, WS_DRIVERS } from "./helpers.js";
import { makeTree, scenarioScript } from "./scenario.js";

let dir: string;
let state: string;

beforeAll(() => {
  dir = makeTempDir("warden-ws-apply-");
  state = join(dir, "state");
});
afterAll(() => removeDir(dir));

/** A fresh tree and a closed workspace over it holding `script`'s changes; returns the merged view's snapshot. */
async function prepared(name: string, build: (root: string) => void, script: (root: string) => string, driver = "kernel") {
  const root = join(dir, name);
  mkdirSync(root);
  build(root);
  // The tree must be older than the workspace by more than a clock tick: file times come from the
  // kernel's coarse clock (birth) or a finer one (ctime), and an entry changed in the same tick the
  // workspace began is rightly called a conflict by apply. Not a timing assertion: a fixture's age.
  await new Promise((r) => setTimeout(r, 50));
  const h = await openWorkspace({ stateDir: state, name, roots: [root], driver });
  let merged;
  try {
    runInside(h, script(root));
    merged = snapshot(h.merged[0]!.viaProc);
  } finally {
    await h.close();
  }
  return { root, merged };
}

describe("warden workspace apply", () => {
  // Both drivers: apply reads the upper layers in the encoding the workspace was made with.
  it.each(WS_DRIVERS)("brings exactly the changes onto the real tree (modes, links, empty dirs, a dir replaced by a file; %s driver)", async (driver) => {
    const name = `full-${driver}`;
    const { root, merged } = await prepared(name, makeTree, scenarioScript, driver);
    const r = applyWorkspace({ stateDir: state, name });
    expect(r).toMatchObject({ applied: true, conflicts: [], resumed: false });
    expect(plain(snapshot(root))).toEqual(plain(merged));
    // Nothing is left to apply, and a second apply changes nothing.
    expect(diffWorkspace({ stateDir: state, name }).roots[0]!.changes).toEqual([]);
    expect(applyWorkspace({ stateDir: state, name })).toMatchObject({ applied: true, operations: 0 });
  });

  it("refuses, naming the paths, when the real files changed after the workspace changed them; --force applies", async () => {
    const { root, merged } = await prepared(
      "conflict",
      (r) => {
        writeFileSync(join(r, "a.txt"), "a\n");
        writeFileSync(join(r, "b.txt"), "b\n");
        writeFileSync(join(r, "c.txt"), "c\n");
        mkdirSync(join(r, "d"));
        writeFileSync(join(r, "d", "x"), "x\n");
      },
      (r) => `cd '${r}'; echo A > a.txt; echo B > b.txt; rm c.txt; echo new > d/new`,
    );
    writeFileSync(join(root, "a.txt"), "edited by a human\n"); // changed after the workspace changed it
    writeFileSync(join(root, "c.txt"), "kept by a human\n"); // the workspace deletes it: the edit would be lost
    const r = applyWorkspace({ stateDir: state, name: "conflict" });
    expect(r.applied).toBe(false);
    expect(r.conflicts.map((c) => c.path).sort()).toEqual(["a.txt", "c.txt"]);
    expect(readFileSync(join(root, "b.txt"), "utf8")).toBe("b\n"); // nothing applied
    // Backdating the mtime does not hide a change: the ctime cannot be set back.
    utimesSync(join(root, "a.txt"), new Date(2000, 1, 1), new Date(2000, 1, 1));
    expect(applyWorkspace({ stateDir: state, name: "conflict" }).conflicts.map((c) => c.path)).toContain("a.txt");
    const forced = applyWorkspace({ stateDir: state, name: "conflict", force: true });
    expect(forced.applied).toBe(true);
    expect(plain(snapshot(root))).toEqual(plain(merged));
  });

  it("does not call it a conflict when the real file was changed before the workspace touched it, or already holds the same", async () => {
    const root = join(dir, "before");
    mkdirSync(root);
    writeFileSync(join(root, "early.txt"), "v1\n");
    writeFileSync(join(root, "same.txt"), "v1\n");
    const h = await openWorkspace({ stateDir: state, name: "before", roots: [root] });
    try {
      writeFileSync(join(root, "early.txt"), "v2 by a human\n"); // seen by the workspace: it edits on top
      runInside(h, `cd '${root}'; cat early.txt > early.new; echo agent >> early.new; cat early.new > early.txt; rm early.new; echo same > same.txt`);
      writeFileSync(join(root, "same.txt"), "same\n"); // the same edit made on both sides
    } finally {
      await h.close();
    }
    const r = applyWorkspace({ stateDir: state, name: "before" });
    expect(r.conflicts).toEqual([]);
    expect(readFileSync(join(root, "early.txt"), "utf8")).toBe("v2 by a human\nagent\n");
  });

  it("a new file in a directory the human also changed is flagged (the directory's entries moved underneath)", async () => {
    const { root } = await prepared("newdir", (r) => mkdirSync(join(r, "src")), (r) => `echo n > '${r}/src/new.txt'`);
    writeFileSync(join(root, "src", "other.txt"), "human\n");
    expect(applyWorkspace({ stateDir: state, name: "newdir" }).conflicts.map((c) => c.path)).toEqual(["src/new.txt"]);
  });

  it("finishes an apply killed half way (kill -9) from its journal", { timeout: 240_000 }, async () => {
    const { root, merged } = await prepared(
      "killed",
      (r) => writeFileSync(join(r, "seed"), "s\n"),
      (r) => `cd '${r}'; mkdir many; i=0; while [ $i -lt 3000 ]; do echo $i > many/f$i; i=$((i+1)); done`,
    );
    const journal = join(state, "workspaces", "killed", "apply-journal.json");
    const cli = join(import.meta.dirname, "..", "..", "dist", "cli", "main.js");
    let caught = false;
    for (let attempt = 0; attempt < 20 && !caught; attempt++) {
      // After a missed first try the real root has changed (we removed what it applied): --force then.
      const force = attempt > 0 ? ["--force"] : [];
      const child = spawn(process.execPath, [cli, "workspace", "apply", "killed", "--state-dir", state, ...force], { stdio: ["ignore", "ignore", "inherit"] });
      const exited = new Promise((r) => child.once("exit", r));
      while (child.exitCode === null && !existsSync(journal)) await new Promise((r) => setTimeout(r, 2));
      if (existsSync(journal)) {
        child.kill("SIGKILL");
        caught = true;
      }
      await exited;
      if (!caught) removeDir(join(root, "many")); // it finished first: undo and try again
    }
    expect(caught).toBe(true);
    expect(existsSync(journal)).toBe(true);
    // What a kill between writing a file and renaming it into place leaves (the kill above may or may not have):
    const { id } = JSON.parse(readFileSync(journal, "utf8")) as { id: string };
    mkdirSync(join(root, "many"), { recursive: true });
    writeFileSync(join(root, "many", `.warden-apply-${id}-00000000`), "half");
    const r = applyWorkspace({ stateDir: state, name: "killed" });
    expect(r).toMatchObject({ applied: true, resumed: true });
    expect(existsSync(journal)).toBe(false);
    expect(plain(snapshot(root))).toEqual(plain(merged));
  });

  it("refuses a live workspace", async () => {
    const root = join(dir, "live");
    mkdirSync(root);
    const h = await openWorkspace({ stateDir: state, name: "live", roots: [root] });
    try {
      expect(() => applyWorkspace({ stateDir: state, name: "live" })).toThrow(/workspace live is live \(mounted by holder pid \d+\); stop the server/);
    } finally {
      await h.close();
    }
  });
});
