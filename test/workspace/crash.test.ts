import { spawn } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createInterface } from "node:readline";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { diffWorkspace, listWorkspaces, openWorkspace } from "../../src/workspace/index.js";
import { processStartTime } from "../../src/workspace/proc.js";
import { makeTempDir, removeDir } from "../support/tree.js";
import { mountsMentioning, processesInMountNs, WS_DRIVERS } from "./helpers.js";

const HOLD = join(import.meta.dirname, "fixtures", "hold.mjs");
let dir: string;
let root: string;
let state: string;

beforeAll(() => {
  dir = makeTempDir("warden-ws-crash-");
  root = join(dir, "proj");
  state = join(dir, "state");
  mkdirSync(root);
  writeFileSync(join(root, "a.txt"), "a\n");
});
afterAll(() => removeDir(dir));

/** Starts the stand-in server and reads the line it prints once its workspace is mounted and changed. */
async function startServer(name: string, driver: string): Promise<{ pid: number; holderPid: number; dir: string }> {
  const child = spawn(process.execPath, [HOLD, state, name, driver, root], { stdio: ["ignore", "pipe", "inherit"] });
  const line = await new Promise<string>((res, rej) => {
    createInterface({ input: child.stdout! }).once("line", res);
    child.once("exit", (code) => rej(new Error(`hold.mjs exited ${code}`)));
  });
  return JSON.parse(line) as { pid: number; holderPid: number; dir: string };
}

/** Waits (no timing assertion: the bound only stops a hung test) until a process is gone or a zombie. */
async function gone(pid: number): Promise<void> {
  for (let i = 0; i < 600 && processStartTime(pid) !== null; i++) await new Promise((r) => setTimeout(r, 50));
  expect(processStartTime(pid)).toBeNull();
}

describe.each(WS_DRIVERS)("a crash leaves no mount behind, and the workspace on disk (%s driver)", (driver) => {
  const crashed = `crashed-${driver}`;
  const holderKilled = `holder-killed-${driver}`;
  it("kill -9 of the server: the holder sees EOF and ends, the mount goes with its namespace, list says orphaned", async () => {
    const s = await startServer(crashed, driver);
    expect(mountsMentioning(s.dir).length).toBeGreaterThan(0);
    // Every process of the workspace's namespace: the holder and, for fuse, the FUSE daemon in it.
    const inNs = processesInMountNs(s.holderPid);
    if (driver === "fuse") expect(inNs.map((p) => p.comm)).toContain("fuse-overlayfs");
    expect(listWorkspaces({ stateDir: state }).find((w) => w.name === crashed)).toMatchObject({ state: "live", driver, holderPid: s.holderPid });
    process.kill(s.pid, "SIGKILL");
    await gone(s.pid);
    await gone(s.holderPid);
    for (const p of inNs) await gone(p.pid);
    expect(mountsMentioning(s.dir)).toEqual([]);
    expect(listWorkspaces({ stateDir: state }).find((w) => w.name === crashed)).toMatchObject({ state: "orphaned", holderPid: null, changedEntries: 1 });
    // What the agent did is still there, readable and diffable, and the real tree was never touched.
    expect(diffWorkspace({ stateDir: state, name: crashed }).roots[0]!.changes.map((c) => `${c.status} ${c.path}`)).toEqual(["added held.txt"]);
    expect(existsSync(join(root, "held.txt"))).toBe(false);
    // An orphan can be opened again; it carries on from where it was.
    const h = await openWorkspace({ stateDir: state, name: crashed, roots: [root] });
    try {
      expect(h.driver).toBe(driver); // auto re-opens it with the driver it was made with
      expect(readFileSync(join(h.merged[0]!.viaProc, "held.txt"), "utf8")).toBe(`held by ${s.pid}\n`);
    } finally {
      await h.close();
    }
    expect(listWorkspaces({ stateDir: state }).find((w) => w.name === crashed)?.state).toBe("closed");
  });

  it("kill -9 of the holder itself: the mount is gone, the handle knows, list says orphaned", async () => {
    const h = await openWorkspace({ stateDir: state, name: holderKilled, roots: [root], driver });
    const inNs = processesInMountNs(h.holderPid);
    process.kill(h.holderPid, "SIGKILL");
    await h.exited;
    for (const p of inNs) await gone(p.pid);
    expect(h.alive()).toBe(false);
    expect(() => h.verify()).toThrow(/the holder of workspace holder-killed-\w+ \(pid \d+\) is gone/);
    expect(mountsMentioning(h.dir)).toEqual([]);
    expect(listWorkspaces({ stateDir: state }).find((w) => w.name === holderKilled)?.state).toBe("orphaned");
    await h.close(); // records the close even though the holder is already gone
    expect(listWorkspaces({ stateDir: state }).find((w) => w.name === holderKilled)?.state).toBe("closed");
  });
});
