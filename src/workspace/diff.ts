import type { WorkspaceDiff } from "./changes.js";
import { copyDiffOf } from "./copy/diff.js";
import { driverByName } from "./drivers.js";
import { usageError } from "./errors.js";
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
  const driver = driverByName(m.driver ?? "kernel");
  const encoding = driver.encoding;
  if (encoding === "copy") return copyDiffOf(dir, m);
  const topFirst = [m.upper, ...[...m.layers].reverse()];
  return {
    name: m.name,
    roots: m.roots.map((r, i) => ({
      root: r.path,
      changes: composeChanges({ root: r.path, ...layerInputs(dir, topFirst, i), createdNs: BigInt(m.createdNs), encoding }),
    })),
  };
}

/** The diff narrowed to one root (`--root`, `?root=`); a root the workspace does not cover is a usage error naming the ones it has. */
export function onlyRoot(diff: WorkspaceDiff, root: string | undefined | null): WorkspaceDiff {
  if (root === undefined || root === null) return diff;
  const want = root.replace(/\/+$/, "");
  const roots = diff.roots.filter((r) => r.root === want);
  if (roots.length === 0) throw usageError(`workspace ${diff.name} has no root ${root} (it has ${diff.roots.map((r) => r.root).join(", ")})`);
  return { ...diff, roots };
}
