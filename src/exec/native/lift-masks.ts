import { mergeMasks, type DenyMasks } from "./deny-masks.js";
import { parentOf } from "./mask-bound.js";

/**
 * The masks of a command prepared again after its gate found a directory holding masks changed
 * (`sandbox.mounts`): each directory whose masks directly in it are ALL unscanned directories
 * (hidden whole because their content was not checked in time, not because a name matched) is
 * hidden whole itself instead, once per call. Typical case: clients creating new directories in
 * `out/`: the new ones are not checked yet, so `out/` holds their masks, and the next one created
 * changes `out/` before the gate. Hidden one level up, the holder is the directory above, which
 * the scan judged too (its identity is in `ids`: the way from a root to every mask is recorded)
 * and which the gate checks the same way.
 *
 * Fail closed: the result hides a superset of what `masks` hides (a hidden directory covers
 * everything the masks below it covered), and every directory that then holds masks is checked by
 * the gate with the ctime the scan saw, exactly as before. A directory holding a mask for a
 * matching name is never lifted (its exact masks stay); neither is a root (hiding it whole would
 * leave the command nothing to work on: it is refused and run again instead).
 */
export function liftUnscanned(masks: DenyMasks, roots: readonly string[]): DenyMasks {
  const rootSet = new Set(roots);
  const unscanned = new Set(masks.unscanned ?? []);
  const named = new Set([...masks.files, ...masks.dirs.filter((d) => !unscanned.has(d))].map(parentOf));
  const lifted = new Set<string>();
  for (const u of unscanned) {
    const holder = parentOf(u);
    if (!rootSet.has(u) && !rootSet.has(holder) && !named.has(holder) && insideARoot(holder, roots)) lifted.add(holder);
  }
  if (lifted.size === 0) return masks;
  return mergeMasks([{ ...masks, dirs: [...masks.dirs, ...lifted], unscanned: [...unscanned, ...lifted] }]);
}

function insideARoot(path: string, roots: readonly string[]): boolean {
  return roots.some((r) => (r === "/" ? path !== "/" : path.startsWith(r + "/")));
}
