import { execFile } from "node:child_process";
import { mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { promisify } from "node:util";
import { snapshotCopyLayer } from "./copy/lifecycle.js";
import { WorkspaceError } from "./errors.js";
import { layerRel } from "./layout.js";
import { newLayerId, nowNs, readManifest, type SnapshotRecord, type WorkspaceManifest } from "./manifest.js";
import { newLabel, snapshotsOf } from "./stack.js";
import { commitManifest, removeTree } from "./store.js";

const run = promisify(execFile);

/**
 * A live checkpoint of a workspace this process holds (mounted by its holder `holderPid`): a copy of
 * the upper layer of every root (`cp -a`, reflinks where the filesystem has them), recorded beside
 * the stack as a frozen layer on top of the current frozen layers. Only the changes are copied, never
 * the lower tree (the copy driver's upper is the whole tree: its usual full copy). The caller must
 * hold the workspace quiet for the whole call: no command running in it and no write through the
 * file tools (server/live-workspaces.ts); the holder keeps the workspace's lock, so no CLI command
 * changes it meanwhile. The manifest is the commit point: a crash mid-copy leaves an unnamed layer
 * directory that the next open sweeps.
 */
export async function snapshotLiveWorkspace(dir: string, holderPid: number, label?: string): Promise<{ label: string; id: string; created: string }> {
  const m = readManifest(dir);
  if (m.state !== "live" || m.holder?.pid !== holderPid) throw new WorkspaceError(`workspace ${m.name} is not held by this server any more (its manifest names ${m.holder ? `holder pid ${m.holder.pid}` : "no holder"}); nothing was copied`);
  const snap: SnapshotRecord = {
    id: newLayerId(),
    label: newLabel(m, label),
    created: new Date().toISOString(),
    floorNs: m.upper.floorNs ?? m.upper.startedNs ?? m.createdNs,
    base: m.layers.length,
  };
  try {
    if (m.driver === "copy") {
      // The copy driver's upper is a whole tree, with the ids its diff reads: copied as a checkpoint copies it.
      for (let i = 0; i < m.roots.length; i++) mkdirSync(join(dir, layerRel(i, snap.id)), { recursive: true, mode: 0o755 });
      await snapshotCopyLayer(dir, m, m.upper.id, snap.id);
    } else {
      for (let i = 0; i < m.roots.length; i++) await copyUpper(join(dir, layerRel(i, m.upper.id)), join(dir, layerRel(i, snap.id)));
    }
    const now = readManifest(dir);
    if (now.holder?.pid !== holderPid) throw new WorkspaceError(`workspace ${m.name} changed hands while it was being copied; the copy is not recorded`);
    commitManifest(dir, withSnapshot(now, snap));
  } catch (err) {
    // Nothing names the half-made copy: remove it now rather than leave it for the next open's sweep.
    for (let i = 0; i < m.roots.length; i++) removeTree(join(dir, layerRel(i, snap.id)));
    throw err;
  }
  return { label: snap.label, id: snap.id, created: snap.created };
}

function withSnapshot(m: WorkspaceManifest, snap: SnapshotRecord): WorkspaceManifest {
  return { ...m, snapshots: [...snapshotsOf(m), snap] };
}

/** The upper layer, whiteouts, opaque marks (xattrs) and modes kept: a valid overlayfs (or fuse-overlayfs) layer. */
async function copyUpper(from: string, to: string): Promise<void> {
  mkdirSync(dirname(to), { recursive: true });
  try {
    await run("cp", ["-a", "--reflink=auto", "--", from, to], { maxBuffer: 1 << 20 });
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new WorkspaceError(`cannot copy the upper layer ${from} for a live checkpoint: ${(e.stderr ?? "").trim() || e.message}; is the state dir's disk full?`);
  }
}

/**
 * Records in a live workspace's manifest the HTTP address of the server holding it, so that
 * `warden workspace checkpoint` can name where to take a live checkpoint. Only while the manifest
 * still names this holder; a new holder (a new open) starts without it.
 */
export function recordHolderApi(dir: string, holderPid: number, api: string): void {
  const m = readManifest(dir);
  if (m.state !== "live" || m.holder?.pid !== holderPid || m.holder.api === api) return;
  commitManifest(dir, { ...m, holder: { ...m.holder, api } });
}
