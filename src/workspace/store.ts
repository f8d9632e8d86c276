import { randomBytes } from "node:crypto";
import { chmodSync, existsSync, lstatSync, mkdirSync, readdirSync, renameSync, rmSync } from "node:fs";
import { join } from "node:path";
import { fsyncDir } from "../audit/atomic-file.js";
import { sweepCopyMeta } from "./copy/lifecycle.js";
import { notFoundError, usageError } from "./errors.js";
import { layerRel, lowerRel, mergedRel, workRel, wsDirOf } from "./layout.js";
import { newLayerId, nowNs, readManifest, writeManifest, type WorkspaceManifest } from "./manifest.js";
import { checkName } from "./names.js";
import { isRunning, processStartTime } from "./proc.js";
import { workspacesDir } from "./state-dir.js";

export interface RootIdentity {
  path: string;
  dev: string;
  ino: string;
}

export type WorkspaceState = "live" | "orphaned" | "closed" | "damaged";

/** live: its holder runs; orphaned: the manifest says live but the holder is gone (a crash); closed. */
export function stateOf(m: WorkspaceManifest): WorkspaceState {
  if (m.state !== "live") return "closed";
  return m.holder && isRunning(m.holder.pid, m.holder.start) ? "live" : "orphaned";
}

/** A workspace's directory and manifest; an unknown name is a usage error that says where it looked. */
export function loadWorkspace(stateDir: string, name: string): { dir: string; manifest: WorkspaceManifest } {
  checkName(name);
  const dir = wsDirOf(stateDir, name);
  if (!existsSync(join(dir, "manifest.json"))) {
    throw notFoundError(`no workspace named ${name} in ${stateDir} (\`warden workspace list --state-dir ${stateDir}\` shows the ones there)`);
  }
  return { dir, manifest: readManifest(dir) };
}

/** Names of the workspaces in a state dir, sorted (temporary and discarded entries start with '.'). */
export function workspaceNames(stateDir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(workspacesDir(stateDir));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw err;
  }
  return names.filter((n) => !n.startsWith(".") && existsSync(join(workspacesDir(stateDir), n, "manifest.json"))).sort();
}

/** Makes the directories of one layer (and its workdir when it is the upper) for every root. */
export function makeLayerDirs(wsDir: string, rootCount: number, id: string, withWork: boolean): void {
  for (let i = 0; i < rootCount; i++) {
    mkdirSync(join(wsDir, layerRel(i, id)), { recursive: true, mode: 0o755 });
    if (withWork) mkdirSync(join(wsDir, workRel(i, id)), { recursive: true, mode: 0o700 });
  }
}

/**
 * Creates a workspace. It is built under a temporary name (`.tmp-<name>-<pid>-<start>-<rand>`) and
 * renamed into place in one step, so a `kill -9` leaves either no workspace or a whole one; the
 * leftovers of a dead creator are removed by the next `sweepStateDir`. `fill` may add layers.
 */
export function createWorkspace(
  stateDir: string,
  name: string,
  roots: RootIdentity[],
  fill?: (tmpDir: string, manifest: WorkspaceManifest) => WorkspaceManifest,
): { dir: string; manifest: WorkspaceManifest } {
  checkName(name);
  const dir = wsDirOf(stateDir, name);
  if (existsSync(dir)) throw usageError(`a workspace named ${name} already exists in ${stateDir}; choose another name, or discard it first`);
  const tmp = join(workspacesDir(stateDir), `.tmp-${name}-${process.pid}-${processStartTime(process.pid) ?? 0}-${randomBytes(3).toString("hex")}`);
  const now = new Date();
  let manifest: WorkspaceManifest = {
    version: 1,
    name,
    created: now.toISOString(),
    createdNs: nowNs(),
    roots,
    layers: [],
    upper: { id: newLayerId(), created: now.toISOString(), startedNs: nowNs() },
    state: "closed",
    holder: null,
  };
  try {
    mkdirSync(tmp, { mode: 0o700 });
    for (let i = 0; i < roots.length; i++) {
      mkdirSync(join(tmp, lowerRel(i)), { recursive: true });
      mkdirSync(join(tmp, mergedRel(i)), { recursive: true });
    }
    makeLayerDirs(tmp, roots.length, manifest.upper.id, true);
    if (fill) manifest = fill(tmp, manifest);
    writeManifest(tmp, manifest);
    renameSync(tmp, dir);
  } catch (err) {
    removeTree(tmp);
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOTEMPTY" || code === "EEXIST") throw usageError(`a workspace named ${name} already exists in ${stateDir}; choose another name, or discard it first`);
    throw err;
  }
  fsyncDir(workspacesDir(stateDir));
  return { dir, manifest };
}

/**
 * Discards a workspace: renamed out of the way in one step (`.trash-...`), then removed. A crash
 * between the two leaves only trash, which the next sweep removes; never half a workspace under its name.
 */
export function removeWorkspaceDir(stateDir: string, dir: string, name: string): void {
  const trash = join(workspacesDir(stateDir), `.trash-${name}-${randomBytes(4).toString("hex")}`);
  renameSync(dir, trash);
  fsyncDir(workspacesDir(stateDir));
  removeTree(trash);
}

/** Removes what dead processes left in the state dir: trash, and temporary workspaces of dead creators. */
export function sweepStateDir(stateDir: string): void {
  let names: string[];
  try {
    names = readdirSync(workspacesDir(stateDir));
  } catch {
    return;
  }
  for (const n of names) {
    const tmp = /^\.tmp-.*-(\d+)-(\d+)-[0-9a-f]{6}$/.exec(n);
    const dead = n.startsWith(".trash-") || (tmp !== null && processStartTime(Number(tmp[1])) !== tmp[2]);
    try {
      if (dead) removeTree(join(workspacesDir(stateDir), n));
    } catch {
      // another process is removing it too; whoever comes next finishes
    }
  }
}

/**
 * Removes layer and work directories the manifest no longer names (left by a crash between making
 * them and committing the manifest, or by reset); live checkpoints are kept. Call only while holding the workspace's lock.
 */
export function sweepWorkspace(wsDir: string, m: WorkspaceManifest): void {
  const keep = new Set([m.upper.id, ...m.layers.map((l) => l.id), ...(m.snapshots ?? []).map((l) => l.id)]);
  for (let i = 0; i < m.roots.length; i++) {
    const rootDir = join(wsDir, "roots", String(i));
    const layersDir = join(rootDir, "layers");
    for (const id of safeReaddir(layersDir)) if (!keep.has(id)) removeTree(join(layersDir, id));
    for (const n of safeReaddir(rootDir)) {
      if (n.startsWith("work-") && n.slice(5) !== m.upper.id) removeTree(join(rootDir, n));
    }
    if (!existsSync(join(wsDir, workRel(i, m.upper.id)))) mkdirSync(join(wsDir, workRel(i, m.upper.id)), { recursive: true, mode: 0o700 });
  }
  if (m.driver === "copy") sweepCopyMeta(wsDir, m);
}

function safeReaddir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

/**
 * rm -rf that also gets through overlayfs's workdir, whose `work/work` it leaves mode 000 (an
 * unprivileged owner may not list it until it chmods it).
 */
export function removeTree(path: string): void {
  try {
    rmSync(path, { recursive: true, force: true });
    return;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EACCES") throw err;
  }
  const walk = (p: string) => {
    let st;
    try {
      st = lstatSync(p);
    } catch {
      return;
    }
    if (!st.isDirectory()) return;
    try {
      chmodSync(p, 0o700);
    } catch {
      // not ours: rmSync will say so
    }
    for (const n of safeReaddir(p)) walk(join(p, n));
  };
  walk(path);
  rmSync(path, { recursive: true, force: true });
}

/** Stores the manifest after a change; kept here so every writer goes through one function. */
export function commitManifest(wsDir: string, m: WorkspaceManifest): void {
  writeManifest(wsDir, m);
}

