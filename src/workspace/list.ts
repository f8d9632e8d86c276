import { lstatSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { copyDiffOf } from "./copy/diff.js";
import type { WorkspaceManifest } from "./manifest.js";
import { prepareStateDir } from "./state-dir.js";
import { loadWorkspace, stateOf, workspaceNames, type WorkspaceState } from "./store.js";

export interface WorkspaceSummary {
  name: string;
  roots: string[];
  created: string;
  state: WorkspaceState;
  /** The driver it was made with (its layers are in that driver's encoding); damaged: "". */
  driver: string;
  holderPid: number | null;
  /** Entries in the upper layers (files, directories, whiteouts) and the bytes of their files. */
  changedEntries: number;
  changedBytes: number;
  /** Frozen layers and live checkpoints (`live: true`, a copy kept beside the stack, on top of its first `base` layers), oldest first. */
  checkpoints: Array<{ id: string; label?: string | undefined; created: string; live?: true; base?: number }>;
  forkedFrom?: { name: string; label?: string | undefined } | undefined;
  applied?: string | undefined;
  /** Why a damaged workspace could not be read. */
  problem?: string;
}

/** Every workspace of a state dir, by name. A missing state dir has none. */
export function listWorkspaces(opts: { stateDir: string }): WorkspaceSummary[] {
  const stateDir = prepareStateDir(opts.stateDir, false);
  return workspaceNames(stateDir).map((n) => {
    try {
      const { dir, manifest } = loadWorkspace(stateDir, n);
      return summaryOf(dir, manifest);
    } catch (err) {
      // One unreadable manifest must not hide the others: listed as damaged, with the reason.
      return { name: n, roots: [], created: "", state: "damaged" as const, driver: "", holderPid: null, changedEntries: 0, changedBytes: 0, checkpoints: [], problem: (err as Error).message };
    }
  });
}

/** One workspace's summary; an unknown name is a not_found error that says where it looked. */
export function describeWorkspace(opts: { stateDir: string; name: string }): WorkspaceSummary {
  const { dir, manifest } = loadWorkspace(prepareStateDir(opts.stateDir, false), opts.name);
  return summaryOf(dir, manifest);
}

/** The directory of a workspace that a server holds live now (its control socket is there), or null: closed or orphaned. */
export function liveWorkspaceDir(opts: { stateDir: string; name: string }): string | null {
  const { dir, manifest } = loadWorkspace(prepareStateDir(opts.stateDir, false), opts.name);
  return stateOf(manifest) === "live" ? dir : null;
}

export function summaryOf(dir: string, m: WorkspaceManifest): WorkspaceSummary {
  const usage = { entries: 0, bytes: 0 };
  // copy driver: its layers are whole trees, so what changed is the diff's (copy/diff.ts).
  if (m.driver === "copy") for (const r of copyDiffOf(dir, m).roots) for (const c of r.changes) {
    usage.entries++;
    if (c.new?.kind === "file") usage.bytes += c.new.size;
  }
  else for (let i = 0; i < m.roots.length; i++) {
    for (const l of [...m.layers, m.upper]) countTree(join(dir, "roots", String(i), "layers", l.id), usage);
  }
  const state = stateOf(m);
  return {
    name: m.name,
    roots: m.roots.map((r) => r.path),
    created: m.created,
    state,
    driver: m.driver ?? "kernel",
    holderPid: state === "live" ? (m.holder?.pid ?? null) : null,
    changedEntries: usage.entries,
    changedBytes: usage.bytes,
    checkpoints: [
      ...m.layers.map((l) => ({ id: l.id, label: l.label, created: l.created })),
      ...(m.snapshots ?? []).map((l) => ({ id: l.id, label: l.label, created: l.created, live: true as const, base: l.base })),
    ].sort((a, b) => (a.created < b.created ? -1 : a.created > b.created ? 1 : 0)),
    forkedFrom: m.forkedFrom,
    applied: m.applied,
  };
}

function countTree(dir: string, usage: { entries: number; bytes: number }): void {
  let names;
  try {
    names = readdirSync(dir, { withFileTypes: true });
  } catch {
    return;
  }
  for (const d of names) {
    usage.entries++;
    if (d.isDirectory()) countTree(join(dir, d.name), usage);
    else if (d.isFile()) {
      try {
        usage.bytes += lstatSync(join(dir, d.name)).size;
      } catch {
        // removed meanwhile (a live workspace)
      }
    }
  }
}
