import { execFile, spawnSync } from "node:child_process";
import { closeSync, copyFileSync, mkdirSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { lstatBeneath } from "../beneath.js";
import { WorkspaceError } from "../errors.js";
import { layerRel } from "../layout.js";
import { newLayerId, type LayerRecord, type SnapshotRecord, type WorkspaceManifest } from "../manifest.js";
import { checkSameRoots, openRoot } from "../roots.js";
import { removeTree } from "../store.js";
import { copyMetaDir, idOf, readIds, writeBaseline, writeIds, type Ids } from "./baseline.js";
import { copyRoot } from "./populate.js";

/**
 * Checkpoints, resets and forks of a copy-driver workspace. With no layers to stack they cannot be
 * cheap: each is a full copy of the tree (reflinks where the filesystem has them, else data). The
 * generic code in ../lifecycle.ts keeps the manifest's bookkeeping (labels, order, the lock, the
 * commit point); these fill the layer directories it makes.
 */

/**
 * Fills the new, empty layer `dst` of every root: a copy of layer `src` (a checkpoint freezes the
 * upper and goes on in a copy of it; a reset goes on in a copy of the checkpoint), or, with `src`
 * null (a reset to the start), a fresh copy of the real tree with a new baseline. Returns the
 * manifest fields that change.
 */
export function fillCopyLayer(dir: string, m: WorkspaceManifest, src: string | null, dst: string): Partial<WorkspaceManifest> {
  if (src !== null) {
    for (let i = 0; i < m.roots.length; i++) writeIds(dir, i, dst, copyLayerTree(join(dir, layerRel(i, src)), readIds(dir, i, src), join(dir, layerRel(i, dst))));
    return {};
  }
  const opened = m.roots.map((r) => openRoot(r.path));
  try {
    checkSameRoots(m, opened.map((o) => o.id));
    const id = newLayerId();
    m.roots.forEach((r, i) => {
      const { baseline, ids } = copyRoot(r.path, opened[i]!.fd, join(dir, layerRel(i, dst)), copyMetaDir(dir, i));
      writeIds(dir, i, dst, ids);
      writeBaseline(dir, i, id, baseline);
    });
    return { copyBaseline: id };
  } finally {
    for (const o of opened) closeSync(o.fd);
  }
}

/**
 * fork's filling of the new workspace (built under `tmp`): every checkpoint kept (live ones too) and
 * the upper, each a copy (a copy's frozen layers are never written, but hard links would change the
 * inodes' ctimes and so spoil their ids), the same baseline.
 */
export function forkCopy(srcDir: string, m: WorkspaceManifest, layers: LayerRecord[], snapshots: SnapshotRecord[], fromCheckpoint: boolean, tmp: string, fresh: WorkspaceManifest): WorkspaceManifest {
  const from = fromCheckpoint ? layers.at(-1)!.id : m.upper.id;
  for (let i = 0; i < m.roots.length; i++) {
    mkdirSync(copyMetaDir(tmp, i), { recursive: true, mode: 0o700 });
    copyFileSync(join(copyMetaDir(srcDir, i), `baseline-${m.copyBaseline}.json`), join(copyMetaDir(tmp, i), `baseline-${m.copyBaseline}.json`));
    for (const l of [...layers, ...snapshots]) {
      mkdirSync(join(tmp, layerRel(i, l.id)), { recursive: true });
      writeIds(tmp, i, l.id, copyLayerTree(join(srcDir, layerRel(i, l.id)), readIds(srcDir, i, l.id), join(tmp, layerRel(i, l.id))));
    }
    writeIds(tmp, i, fresh.upper.id, copyLayerTree(join(srcDir, layerRel(i, from)), readIds(srcDir, i, from), join(tmp, layerRel(i, fresh.upper.id))));
  }
  return { ...fresh, driver: "copy", copyBaseline: m.copyBaseline, layers: layers.map((l) => ({ ...l })) };
}

/**
 * A live checkpoint of a copy-driver workspace (workspace/snapshot.ts): the upper `src` of every
 * root copied into the new, existing layer `dst`, like fillCopyLayer, without holding the event
 * loop: the server answers its other sessions and requests while `cp` runs.
 */
export async function snapshotCopyLayer(dir: string, m: WorkspaceManifest, src: string, dst: string): Promise<void> {
  for (let i = 0; i < m.roots.length; i++) {
    const from = join(dir, layerRel(i, src));
    const to = join(dir, layerRel(i, dst));
    try {
      await run("cp", copyArgs(from, to), { maxBuffer: 1 << 20 });
    } catch (err) {
      const e = err as { stderr?: string; message: string };
      throw copyFailed(from, (e.stderr ?? "").trim() || e.message);
    }
    writeIds(dir, i, dst, carryIds(from, readIds(dir, i, src), to));
  }
}

/** Copies the layer `src` into the existing, empty directory `dst`; the ids of `src` still valid are carried over. */
function copyLayerTree(src: string, srcIds: Ids, dst: string): Ids {
  const r = spawnSync("cp", copyArgs(src, dst), { encoding: "utf8" });
  if (r.status !== 0) throw copyFailed(src, r.error?.message ?? r.stderr.trim());
  return carryIds(src, srcIds, dst);
}

const run = promisify(execFile);
const copyArgs = (src: string, dst: string) => ["-a", "--reflink=auto", "--", `${src}/.`, dst];
const copyFailed = (src: string, why: string) => new WorkspaceError(`cannot copy layer ${src}: ${why}; is the state dir's disk full?`);

/** The ids of `src` (a copy driver's file identities, which its diff reads) still valid, as the copy `dst` has them. */
function carryIds(src: string, srcIds: Ids, dst: string): Ids {
  const ids: Ids = new Map();
  for (const [path, id] of srcIds) {
    try {
      const was = lstatBeneath(src, path);
      const now = was && idOf(was) === id ? lstatBeneath(dst, path) : null;
      if (now) ids.set(path, idOf(now));
    } catch {
      // gone from the layer, or a directory on the way replaced: nothing to carry
    }
  }
  return ids;
}

/** Removes the copy driver's files of layers and baselines the manifest no longer names. Under the workspace's lock. */
export function sweepCopyMeta(dir: string, m: WorkspaceManifest): void {
  const keep = new Set([`baseline-${m.copyBaseline}.json`, `ids-${m.upper.id}.json`, ...[...m.layers, ...(m.snapshots ?? [])].map((l) => `ids-${l.id}.json`)]);
  for (let i = 0; i < m.roots.length; i++) {
    let names: string[];
    try {
      names = readdirSync(copyMetaDir(dir, i));
    } catch {
      continue;
    }
    for (const n of names) if (!keep.has(n)) removeTree(join(copyMetaDir(dir, i), n));
  }
}
