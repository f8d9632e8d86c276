import type { WorkspaceDiff } from "./changes.js";
import { composeChanges, layerInputs } from "./compose.js";
import type { WorkspaceManifest } from "./manifest.js";
import { prepareStateDir } from "./state-dir.js";
import { loadWorkspace } from "./store.js";

/** The changes a workspace holds, per root, against the real tree as it is now. Works live or not. */
export function diffWorkspace(opts: { stateDir: string; name: string }): WorkspaceDiff {
  const stateDir = prepareStateDir(opts.stateDir, false);
  const { dir, manifest } = loadWorkspace(stateDir, opts.name);
  return diffOf(dir, manifest);
}

export function diffOf(dir: string, m: WorkspaceManifest): WorkspaceDiff {
  const topFirst = [m.upper, ...[...m.layers].reverse()];
  return {
    name: m.name,
    roots: m.roots.map((r, i) => ({
      root: r.path,
      changes: composeChanges({ root: r.path, ...layerInputs(dir, topFirst, i), createdNs: BigInt(m.createdNs) }),
    })),
  };
}
