import { realpathSync, statSync } from "node:fs";
import { resolve } from "node:path";
import type { EffectiveRoot, RootSource } from "../policy/roots.js";
import type { Policy } from "../policy/schema/index.js";

/** A configured root that cannot be used (missing, not a directory). */
export class RootError extends Error {
  override name = "RootError";
}

/**
 * Turns configured root paths into canonical ones: absolute, symlinks resolved, existing
 * directories. This runs once at start (and for client roots when they change); from then on the
 * sandbox only ever sees these canonical preopens.
 */
export function canonicalRoot(path: string, writable: boolean, base = process.cwd(), source?: RootSource): EffectiveRoot {
  const abs = resolve(base, path);
  let real: string;
  try {
    real = realpathSync(abs);
  } catch (err) {
    throw new RootError(`root ${abs}: ${(err as NodeJS.ErrnoException).code === "ENOENT" ? "does not exist" : String(err)}`);
  }
  if (!statSync(real).isDirectory()) throw new RootError(`root ${abs}: not a directory`);
  return { path: real, writable, ...(abs !== real ? { aliases: [abs] } : {}), ...(source ? { source } : {}) };
}

/**
 * The configured roots of `serve`, `check` and `agent`: the policy's `filesystem.roots`, then
 * `--root` (read-write) and `--read-only` flags, canonical, each tagged with where it came from;
 * all read-only when the policy says `filesystem.read_only`.
 */
export function configuredRoots(policy: Policy, flags: { roots: string[]; readOnly: string[] }, cwd: string): EffectiveRoot[] {
  const roots = [
    ...policy.filesystem.roots.map((r) => canonicalRoot(r.path, r.access === "read-write", cwd, "policy")),
    ...flags.roots.map((r) => canonicalRoot(r, true, cwd, "--root")),
    ...flags.readOnly.map((r) => canonicalRoot(r, false, cwd, "--read-only")),
  ];
  return policy.filesystem.read_only ? roots.map((r) => ({ ...r, writable: false })) : roots;
}

/** Canonical client roots; ones that do not exist here are dropped (a client may list remote dirs). */
export function canonicalClientRoots(paths: string[]): string[] {
  const out: string[] = [];
  for (const p of paths) {
    try {
      const real = realpathSync(p);
      if (statSync(real).isDirectory()) out.push(real);
    } catch {
      // not on this machine: ignore
    }
  }
  return out;
}
