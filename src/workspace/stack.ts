import { notFoundError, usageError, WorkspaceError } from "./errors.js";
import type { LayerRecord, SnapshotRecord, WorkspaceManifest } from "./manifest.js";
import { checkLabel } from "./names.js";

/**
 * overlayfs takes at most 500 lower layers, and mount(2) at most a page of options; at ~30 bytes a
 * layer, 100 checkpoints keep well inside both. Live checkpoints count too: each is a copy on disk,
 * and `reset --to` one of them stacks it.
 */
export const MAX_CHECKPOINTS = 100;

/** A workspace's checkpoints: the frozen layers of its stack and its live checkpoints beside it. */
export const snapshotsOf = (m: WorkspaceManifest): SnapshotRecord[] => m.snapshots ?? [];

/** Every label a workspace has; labels are unique across frozen layers and live checkpoints. */
export function labelsOf(m: WorkspaceManifest): string[] {
  return [...m.layers.map((l) => l.label), ...snapshotsOf(m).map((s) => s.label)].filter((l): l is string => l !== undefined);
}

/** A label for a new checkpoint: the one asked for (refused when taken), else the next free checkpoint-N. */
export function newLabel(m: WorkspaceManifest, asked: string | undefined): string {
  const taken = new Set(labelsOf(m));
  const count = m.layers.length + snapshotsOf(m).length;
  if (count >= MAX_CHECKPOINTS) throw new WorkspaceError(`workspace ${m.name} has ${count} checkpoints, the most a mount can stack here; fork it from its latest checkpoint or reset it`);
  if (asked !== undefined) {
    const label = checkLabel(asked);
    if (taken.has(label)) throw usageError(`workspace ${m.name} already has a checkpoint labelled ${label}; choose another label`);
    return label;
  }
  for (let n = count + 1; ; n++) if (!taken.has(`checkpoint-${n}`)) return `checkpoint-${n}`;
}

/** A live checkpoint as the frozen layer it becomes on top of its base (its entries' birth times are the copy's). */
function asLayer(m: WorkspaceManifest, s: SnapshotRecord): LayerRecord {
  return { id: s.id, label: s.label, created: s.created, floorNs: s.floorNs ?? s.startedNs ?? m.createdNs };
}

/**
 * The frozen stack a checkpoint stands for, bottom to top: a frozen layer and the ones below it, or
 * a live checkpoint on top of its base. An unknown label is a not_found error listing the known ones.
 */
export function stackAt(m: WorkspaceManifest, label: string): LayerRecord[] {
  const want = checkLabel(label);
  const i = m.layers.findIndex((l) => l.label === want);
  if (i >= 0) return m.layers.slice(0, i + 1);
  const s = snapshotsOf(m).find((x) => x.label === want);
  if (s) return [...m.layers.slice(0, s.base), asLayer(m, s)];
  const known = labelsOf(m);
  throw notFoundError(`workspace ${m.name} has no checkpoint labelled ${want}${known.length ? ` (it has: ${known.join(", ")})` : " (it has none)"}`);
}

/**
 * The stack a plain `reset` goes back to: the latest checkpoint. That is a live checkpoint taken on
 * top of the whole current stack when there is one (the newest), else the stack itself.
 */
export function latestStack(m: WorkspaceManifest): LayerRecord[] {
  const onTop = snapshotsOf(m).filter((s) => s.base === m.layers.length);
  const last = onTop.at(-1);
  return last ? [...m.layers, asLayer(m, last)] : m.layers;
}

/**
 * The live checkpoints that still stand once the stack becomes `layers`: those whose base is still
 * the bottom of it, unchanged, and which did not themselves become a layer of it. A reset below a
 * live checkpoint's base drops it.
 */
export function snapshotsKept(m: WorkspaceManifest, layers: LayerRecord[]): SnapshotRecord[] {
  let same = 0;
  while (same < layers.length && same < m.layers.length && layers[same]!.id === m.layers[same]!.id) same++;
  const inStack = new Set(layers.map((l) => l.id));
  return snapshotsOf(m).filter((s) => s.base <= same && !inStack.has(s.id));
}
