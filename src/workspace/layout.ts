import { join } from "node:path";
import type { WorkspaceManifest } from "./manifest.js";
import { workspacesDir } from "./state-dir.js";

/**
 * Where each part of a workspace lives, relative to its directory `<state>/workspaces/<name>/`:
 *
 *   manifest.json            the one manifest (written atomically)
 *   lock                     flock(2) target: held by the namespace holder or a CLI operation
 *   roots/<i>/layers/<id>/   every layer of root i: the frozen checkpoints and the current upper
 *   roots/<i>/work-<id>/     overlayfs's workdir for upper <id>
 *   roots/<i>/lower          (empty) where the holder binds the real root inside its namespace
 *   roots/<i>/merged         (empty) where the holder mounts the merged view
 *   apply-journal.json       only while an apply is under way
 *
 * Relative paths are what the holder passes to mount(8): they hold no ',' ':' or '\', whatever the
 * state dir's or the roots' own paths contain.
 */
export const wsDirOf = (stateDir: string, name: string): string => join(workspacesDir(stateDir), name);
export const rootRel = (i: number): string => `roots/${i}`;
export const layerRel = (i: number, id: string): string => `roots/${i}/layers/${id}`;
export const workRel = (i: number, id: string): string => `roots/${i}/work-${id}`;
export const lowerRel = (i: number): string => `roots/${i}/lower`;
export const mergedRel = (i: number): string => `roots/${i}/merged`;
export const LOCK = "lock";
export const JOURNAL = "apply-journal.json";

/** The layer directories of root i, top first (upper, then checkpoints newest first): overlay order. */
export function layerDirsTopFirst(wsDir: string, m: WorkspaceManifest, i: number): string[] {
  return [m.upper, ...[...m.layers].reverse()].map((l) => join(wsDir, layerRel(i, l.id)));
}

/** overlayfs's `lowerdir=` for root i: the frozen layers newest first, then the real root's bind. */
export function lowerdirOption(m: WorkspaceManifest, i: number): string {
  return [...[...m.layers].reverse().map((l) => layerRel(i, l.id)), lowerRel(i)].join(":");
}
