import { realpathSync, statSync } from "node:fs";
import { resolve } from "node:path";
import type { ClientRoot, EffectiveRoot } from "../policy/roots.js";
import type { RootHolder } from "./held-roots.js";

/** A configured root that cannot be used (missing, not a directory). */
export class RootError extends Error {
  override name = "RootError";
}

/**
 * Turns configured root paths into canonical ones: absolute, symlinks resolved, existing
 * directories. This runs once at start (and for client roots when they change); from then on the
 * sandbox only ever sees these canonical preopens.
 */
export function canonicalRoot(path: string, writable: boolean, base = process.cwd(), holder?: RootHolder): EffectiveRoot {
  const abs = resolve(base, path);
  let real: string;
  try {
    real = realpathSync(abs);
  } catch (err) {
    throw new RootError(`root ${abs}: ${(err as NodeJS.ErrnoException).code === "ENOENT" ? "does not exist" : String(err)}`);
  }
  if (!statSync(real).isDirectory()) throw new RootError(`root ${abs}: not a directory`);
  const held = holder ? holdRoot(holder, real, abs) : undefined;
  return { path: real, writable, ...(abs !== real ? { aliases: [abs] } : {}), ...(held ? { held } : {}) };
}

function holdRoot(holder: RootHolder, real: string, abs: string) {
  try {
    return holder.hold(real);
  } catch (err) {
    throw new RootError(`root ${abs}: ${(err as Error).message}`);
  }
}

/**
 * Canonical client roots, held from now on when a holder is given; ones that do not exist here are
 * dropped (a client may list remote dirs), and so is one whose path now leads to another directory
 * than the one held for it earlier (reported through `onMoved`).
 */
export function canonicalClientRoots(paths: string[], holder?: RootHolder, onMoved?: (message: string) => void): ClientRoot[] {
  const out: ClientRoot[] = [];
  for (const p of paths) {
    let real: string;
    try {
      real = realpathSync(p);
      if (!statSync(real).isDirectory()) continue;
    } catch {
      continue; // not on this machine: ignore
    }
    try {
      out.push(holder ? { path: real, held: holder.hold(real) } : { path: real });
    } catch (err) {
      onMoved?.((err as Error).message);
    }
  }
  return out;
}

/**
 * Refuses a configured root whose configured path lies inside a writable root but leads elsewhere
 * through a symlink: whatever ran in the writable root (an agent, last session) could have planted
 * that link to make the next start take `/` or a home directory as a root. The real path must be
 * given instead.
 */
export function refuseLinkedRoots(roots: readonly EffectiveRoot[]): void {
  const writable = roots.filter((r) => r.writable);
  for (const r of roots) {
    for (const alias of r.aliases ?? []) {
      const inside = writable.find((w) => w !== r && [w.path, ...(w.aliases ?? [])].some((p) => p !== alias && (p === "/" || alias.startsWith(p + "/"))));
      if (inside) {
        throw new RootError(
          `root ${alias} is inside the writable root ${inside.path} and leads elsewhere through a symlink (to ${r.path}); anything that ran in ${inside.path} could have planted it: give the real path instead`,
        );
      }
    }
  }
}
