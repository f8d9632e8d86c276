import { loadWorkspace } from "../workspace/store.js";
import type { Trajectory, TrajectoryCheckpoint } from "./types.js";

/**
 * The checkpoints of the session's workspace, placed among its steps by time. They are read from
 * the workspace's manifest (the one record of its layers), not copied into the audit log, so the
 * two cannot disagree. Only checkpoints taken between the session's first and last call, or after
 * it, belong to it; earlier ones are the start it began from. Live checkpoints (taken over HTTP while
 * the session ran, kept beside the stack) are among them: a call that wrote to the workspace was
 * recorded before such a checkpoint only if its write is in it (the server held the writes off).
 */
export function withCheckpoints(t: Trajectory, stateDir: string, workspace: string): Trajectory {
  const { manifest } = loadWorkspace(stateDir, workspace);
  const start = t.steps[0]?.time ?? "";
  const checkpoints: TrajectoryCheckpoint[] = [...manifest.layers, ...(manifest.snapshots ?? [])]
    .filter((l) => l.created >= start)
    .sort((a, b) => (a.created < b.created ? -1 : a.created > b.created ? 1 : 0))
    .map((l) => ({
      label: l.label ?? l.id,
      layer: l.id,
      time: l.created,
      after_step: t.steps.filter((s) => s.time <= l.created).length,
    }));
  return { ...t, workspace, checkpoints };
}
