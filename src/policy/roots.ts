import { posix } from "node:path";

/** A root after canonicalization: an absolute, symlink-free host directory and its access. */
export interface EffectiveRoot {
  path: string;
  writable: boolean;
  /** Other spellings of this directory (as configured or offered, before symlinks were resolved). */
  aliases?: string[];
}

/** `child` equals `parent` or lies below it, compared by whole components. */
export function isWithin(parent: string, child: string): boolean {
  if (parent === "/") return child.startsWith("/");
  return child === parent || child.startsWith(parent + "/");
}

/**
 * Effective roots (SPEC "Roots"): the client's roots can only narrow the configured ones.
 * Inputs must already be canonical absolute paths. With configured roots and client roots, the
 * result is every non-empty intersection (the deeper path of each overlapping pair, with the
 * configured access). With no configured roots, the client's roots (read-write); with neither, the
 * fallback (the working directory). Pure: no filesystem access.
 */
export function intersectRoots(
  configured: EffectiveRoot[],
  client: string[] | null,
  fallback: EffectiveRoot,
): EffectiveRoot[] {
  const norm = (p: string) => posix.normalize(p).replace(/(.)\/+$/, "$1");
  const conf = configured.map((r) => ({ ...r, path: norm(r.path) }));
  if (client === null || client.length === 0) {
    return dedupe(conf.length > 0 ? conf : [fallback]);
  }
  const cli = client.map(norm);
  if (conf.length === 0) return dedupe(cli.map((path) => ({ path, writable: true })));
  const out: EffectiveRoot[] = [];
  for (const c of cli) {
    for (const r of conf) {
      if (isWithin(r.path, c)) out.push({ path: c, writable: r.writable, ...(c === r.path && r.aliases ? { aliases: r.aliases } : {}) });
      else if (isWithin(c, r.path)) out.push({ ...r });
    }
  }
  return dedupe(out);
}

function dedupe(roots: EffectiveRoot[]): EffectiveRoot[] {
  const seen = new Map<string, EffectiveRoot>();
  for (const r of roots) {
    const prev = seen.get(r.path);
    // The same directory reached twice keeps the narrower (read-only) access.
    if (!prev) seen.set(r.path, { ...r });
    else {
      prev.writable = prev.writable && r.writable;
      if (r.aliases) prev.aliases = [...new Set([...(prev.aliases ?? []), ...r.aliases])];
    }
  }
  return [...seen.values()];
}
