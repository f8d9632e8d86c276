import { realpathSync, statSync } from "node:fs";
import { resolve } from "node:path";
import type { ClientRoot, EffectiveRoot, RootSource } from "../policy/roots.js";
import type { Policy } from "../policy/schema/index.js";
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
export function canonicalRoot(path: string, writable: boolean, base = process.cwd(), source?: RootSource, holder?: RootHolder): EffectiveRoot {
  const abs = resolve(base, path);
  let real: string;
  try {
    real = realpathSync(abs);
  } catch (err) {
    throw new RootError(`root ${abs}: ${(err as NodeJS.ErrnoException).code === "ENOENT" ? "does not exist" : String(err)}`);
  }
  if (!statSync(real).isDirectory()) throw new RootError(`root ${abs}: not a directory`);
  const held = holder ? holdRoot(holder, real, abs) : undefined;
  return { path: real, writable, ...(abs !== real ? { aliases: [abs] } : {}), ...(source ? { source } : {}), ...(held ? { held } : {}) };
}

/**
 * The configured roots of `serve`, `check` and `agent`: the policy's `filesystem.roots`, then
 * `--root` (read-write) and `--read-only` flags, canonical, each tagged with where it came from and
 * held by `holder` when given; all read-only when the policy says `filesystem.read_only`. A root
 * reached through a symlink planted in a writable root is refused (refuseLinkedRoots).
 */
export function configuredRoots(policy: Policy, flags: { roots: string[]; readOnly: string[] }, cwd: string, holder?: RootHolder): EffectiveRoot[] {
  const roots = [
    ...policy.filesystem.roots.map((r) => canonicalRoot(r.path, r.access === "read-write", cwd, "policy", holder)),
    ...flags.roots.map((r) => canonicalRoot(r, true, cwd, "--root", holder)),
    ...flags.readOnly.map((r) => canonicalRoot(r, false, cwd, "--read-only", holder)),
  ];
  refuseLinkedRoots(roots);
  return policy.filesystem.read_only ? roots.map((r) => ({ ...r, writable: false })) : roots;
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
