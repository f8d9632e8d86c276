import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fillCopyLayer, forkCopy } from "./copy/lifecycle.js";
import { WorkspaceError } from "./errors.js";
import { LOCK, layerRel } from "./layout.js";
import { tryLock, type HeldLock } from "./lock.js";
import { newLayerId, nowNs, type LayerRecord, type WorkspaceManifest } from "./manifest.js";
import { checkLabel, checkName } from "./names.js";
import { latestStack, newLabel, snapshotsKept, stackAt } from "./stack.js";
import { prepareStateDir } from "./state-dir.js";
import { commitManifest, createWorkspace, loadWorkspace, makeLayerDirs, removeWorkspaceDir, stateOf, sweepWorkspace } from "./store.js";

interface Target {
  stateDir: string;
  name: string;
}

/** Runs `fn` holding the workspace's lock; a live workspace (or one another command holds) is refused. */
function withLock<T>(t: Target, what: string, fn: (dir: string, m: WorkspaceManifest, stateDir: string) => T): T {
  const stateDir = prepareStateDir(t.stateDir, false);
  const { dir, manifest } = loadWorkspace(stateDir, t.name);
  const lock: HeldLock | null = tryLock(join(dir, LOCK));
  if (!lock) {
    const live = stateOf(manifest) === "live";
    throw new WorkspaceError(
      live
        ? `cannot ${what} workspace ${t.name}: it is live (mounted by holder pid ${manifest.holder?.pid}${serverOf(manifest.holder?.pid)}); ${what === "checkpoint" ? `${manifest.holder?.api ? `take a live checkpoint through the server holding it: POST ${manifest.holder.api}/api/v1/workspaces/${t.name}/checkpoints (with its token), or stop that server first` : `take a live checkpoint through the server holding it (\`warden workspace checkpoint ${t.name}\` asks it on its control socket; a server that does not answer there must be stopped first)`}` : "stop the server using it first"}`
        : `cannot ${what} workspace ${t.name}: another warden command is working on it; try again when it is done`,
    );
  }
  try {
    return fn(dir, loadWorkspace(stateDir, t.name).manifest, stateDir);
  } finally {
    lock.release();
  }
}

/** Removes a workspace and its layers. The real tree is never touched. */
export function discardWorkspace(t: Target): void {
  withLock(t, "discard", (dir, m, stateDir) => removeWorkspaceDir(stateDir, dir, m.name));
}

/**
 * Freezes the current state: the upper layer becomes a read-only layer (labelled) and a fresh, empty
 * upper starts above it. Nothing is copied; the next mount stacks the frozen layer as a lowerdir.
 * The manifest is the commit point: a crash before it leaves an unused empty layer, swept later.
 */
export function checkpointWorkspace(t: Target & { label?: string }): { label: string; id: string } {
  return withLock(t, "checkpoint", (dir, m) => {
    const label = newLabel(m, t.label);
    const now = new Date();
    const upper: LayerRecord = { id: newLayerId(), created: now.toISOString(), startedNs: nowNs() };
    makeLayerDirs(dir, m.roots.length, upper.id, true);
    // copy driver: the new upper is a copy of the frozen one (copy/lifecycle.ts); overlays start it empty.
    const extra = m.driver === "copy" ? fillCopyLayer(dir, m, m.upper.id, upper.id) : {};
    const frozen: LayerRecord = { ...m.upper, label, created: now.toISOString() };
    commitManifest(dir, { ...m, ...extra, layers: [...m.layers, frozen], upper });
    sweepWorkspace(dir, { ...m, ...extra, layers: [...m.layers, frozen], upper });
    return { label, id: frozen.id };
  });
}

/**
 * Drops what was done since a checkpoint (`to`), or since the latest checkpoint (or the start, when
 * there is none): the layers above it and the upper are replaced by a fresh, empty upper. A live
 * checkpoint goes on top of its base as a frozen layer; live checkpoints whose base is gone are dropped.
 */
export function resetWorkspace(t: Target & { to?: string }): { to: string | null } {
  return withLock(t, "reset", (dir, m) => {
    const keep = t.to !== undefined ? stackAt(m, t.to) : latestStack(m);
    const upper: LayerRecord = { id: newLayerId(), created: new Date().toISOString(), startedNs: nowNs() };
    makeLayerDirs(dir, m.roots.length, upper.id, true);
    const extra = m.driver === "copy" ? fillCopyLayer(dir, m, keep.at(-1)?.id ?? null, upper.id) : {};
    const next = { ...m, ...extra, layers: keep, upper, snapshots: snapshotsKept(m, keep) };
    commitManifest(dir, next);
    sweepWorkspace(dir, next);
    return { to: keep.at(-1)?.label ?? null };
  });
}

/**
 * A new workspace over the same roots starting from `from` (a checkpoint) or from the current state.
 * Frozen layers are shared by hard links (`cp -al`: they are never written again); the current upper,
 * which its workspace may still change in place, is copied. A live source can be forked from a
 * checkpoint (a live one included), not from its moving current state. Live checkpoints whose base
 * the fork keeps go with it (hard-linked too), so `reset --to` them works in the fork as in the source.
 */
export function forkWorkspace(t: Target & { newName: string; from?: string }): { name: string } {
  checkName(t.newName);
  const stateDir = prepareStateDir(t.stateDir, false);
  const src = loadWorkspace(stateDir, t.name);
  const fromLabel = t.from !== undefined ? checkLabel(t.from) : undefined;
  const run = (dir: string, m: WorkspaceManifest) => {
    const layers = fromLabel !== undefined ? stackAt(m, fromLabel) : m.layers;
    const snapshots = snapshotsKept(m, layers);
    createWorkspace(stateDir, t.newName, m.roots, (tmp, fresh) => {
      const kept = snapshots.length > 0 ? { snapshots: snapshots.map((x) => ({ ...x })) } : {};
      if (m.driver === "copy") return { ...forkCopy(dir, m, layers, snapshots, fromLabel !== undefined, tmp, fresh), ...kept, createdNs: m.createdNs, forkedFrom: { name: m.name, ...(fromLabel !== undefined ? { label: fromLabel } : {}) } };
      const copied: LayerRecord[] = layers.map((l) => ({ ...l, floorNs: l.floorNs ?? l.startedNs ?? m.createdNs }));
      for (let i = 0; i < m.roots.length; i++) for (const l of [...layers, ...snapshots]) copyTree(join(dir, layerRel(i, l.id)), join(tmp, layerRel(i, l.id)), true);
      if (fromLabel === undefined) {
        const id = newLayerId();
        for (let i = 0; i < m.roots.length; i++) copyTree(join(dir, layerRel(i, m.upper.id)), join(tmp, layerRel(i, id)), false);
        copied.push({ id, label: `${m.name}-at-fork`, created: new Date().toISOString(), floorNs: m.upper.floorNs ?? m.upper.startedNs ?? m.createdNs });
      }
      return { ...fresh, ...(m.driver ? { driver: m.driver } : {}), ...kept, createdNs: m.createdNs, layers: copied, forkedFrom: { name: m.name, ...(fromLabel !== undefined ? { label: fromLabel } : {}) } };
    });
    return { name: t.newName };
  };
  if (fromLabel !== undefined && stateOf(src.manifest) === "live") return run(src.dir, src.manifest);
  return withLock(t, "fork", (dir, m) => run(dir, m));
}

function copyTree(from: string, to: string, hardlink: boolean): void {
  mkdirSync(dirname(to), { recursive: true });
  const r = spawnSync("cp", [hardlink ? "-al" : "-a", "--", from, to], { encoding: "utf8" });
  if (r.status !== 0) throw new WorkspaceError(`cannot copy layer ${from}: ${r.error?.message ?? r.stderr.trim()}`);
}

/** ", server pid N" for a holder whose parent (the server that opened the workspace) is known. */
function serverOf(holderPid: number | undefined): string {
  if (holderPid === undefined) return "";
  try {
    const ppid = /^\d+ \(.*\) \S+ (\d+)/s.exec(readFileSync(`/proc/${holderPid}/stat`, "utf8"))?.[1];
    return ppid ? `, opened by server pid ${ppid}` : "";
  } catch {
    return "";
  }
}
