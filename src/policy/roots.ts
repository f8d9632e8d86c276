import { posix } from "node:path";

/**

 * A root directory as the server holds it from the moment it opened it: an open descriptor and the
 * directory's identity (device and inode, decimal strings). Whatever is renamed or swapped later,
 * this is the directory the root means; a path that no longer leads to it is refused, never
 * re-resolved. Plain data: the descriptor is opened and closed by src/config/held-roots.ts.
 */
export interface HeldDir {
  fd: number;
  dev: string;
  ino: string;
  /**
   * Where the directory's path is looked up: absent for this process's own mount namespace, or
   * `/proc/<pid>/root` for a copy-on-write workspace's namespace (serve --overlay), whose merged view
   * sits at the root's own path there. Identity checks of the path (roots.moved) look there.
   */
  via?: string;
  /**
   * serve --overlay with the kernel driver: the overlay's own lower layer and the layers above it,
   * held beside the merged view, so that a read-only run opens a file no layer holds straight from
   * the lower layer (sandbox/host/lower-twin.ts). Absent for every other root and driver.
   */
  lower?: HeldLower;
}

/** A directory held by descriptor, with the identity it had when it was opened. */
export interface HeldIdentity {
  fd: number;
  dev: string;
  ino: string;
}

/** The lower layer of a merged view (HeldDir.lower): where a file no layer holds really is. */
export interface HeldLower {
  /** The directory at the held root's place in the overlay's lower layer (the holder's bind of the real root, which has nothing mounted below it). */
  dir: HeldIdentity;
  /** Every layer above the lower one, top first (the upper, then frozen checkpoints), at the workspace root. */
  layers: HeldIdentity[];
  /** Components from the workspace root down to the held root (empty when they are the same). */
  prefix: string[];
}

/** A client root after canonicalization, held like a configured one. */
export interface ClientRoot {
  path: string;
  held?: HeldDir;
}

/**
 * Where a root came from: a `--root` or `--read-only` flag, the policy's `filesystem.roots`, the
 * client's MCP roots, or the working directory (nothing else configured or offered).
 */
export type RootSource = "--root" | "--read-only" | "policy" | "client" | "cwd";

/** Whether the client's MCP roots narrow the configured roots (SPEC default) or are ignored. */
export type ClientRootsMode = "intersect" | "ignore";

/** A root after canonicalization: an absolute, symlink-free host directory and its access. */
export interface EffectiveRoot {
  path: string;
  writable: boolean;
  /** Other spellings of this directory (as configured or offered, before symlinks were resolved). */
  aliases?: string[];
  /** The directory itself, held since it was opened (absent only where nothing opened it, e.g. pure tests). */
  held?: HeldDir;
  /** Where it came from (get_system_info, the start-up line); absent means unknown. */
  source?: RootSource;
  /** A client root inside a configured root: that configured root (it gave the access). */
  within?: string;
}

/** The roots of a session and how they came about (get_system_info, error messages). */
export interface RootsState {
  roots: EffectiveRoot[];
  configured: EffectiveRoot[];
  /** The client's roots (canonical, existing here); null when it offered none or they are ignored. */
  client: string[] | null;
  clientRoots: ClientRootsMode;
  /** Why there is no root, when the client's roots and the configured ones do not overlap. */
  problem?: string;
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
  client: (string | ClientRoot)[] | null,
  fallback: EffectiveRoot,
): EffectiveRoot[] {
  const norm = (p: string) => posix.normalize(p).replace(/(.)\/+$/, "$1");
  const conf = configured.map((r) => ({ ...r, path: norm(r.path) }));
  if (client === null || client.length === 0) {
    return dedupe(conf.length > 0 ? conf : [fallback]);
  }
  const cli = client.map((c) => (typeof c === "string" ? { path: norm(c) } : { ...c, path: norm(c.path) }));
  const heldOf = (c: ClientRoot) => (c.held ? { held: c.held } : {});
  if (conf.length === 0) return dedupe(cli.map((c) => ({ path: c.path, writable: true, source: "client" as const, ...heldOf(c) })));
  const out: EffectiveRoot[] = [];
  for (const c of cli) {
    for (const r of conf) {
      if (c.path === r.path) out.push({ ...r });
      else if (isWithin(r.path, c.path)) out.push({ path: c.path, writable: r.writable, source: "client", within: r.path, ...heldOf(c) });
      else if (isWithin(c.path, r.path)) out.push({ ...r });
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

/**
 * Why a session has no roots, when the client's roots and the configured ones do not overlap,
 * with the two ways out; undefined when there is nothing to explain. Pure.
 */
export function emptyIntersectionReason(configured: EffectiveRoot[], client: string[] | null, effective: EffectiveRoot[]): string | undefined {
  if (effective.length > 0 || configured.length === 0 || !client || client.length === 0) return undefined;
  const conf = configured.map((r) => `${r.path} (${describeSource(r)})`).join(", ");
  return (
    `the client's roots (${client.join(", ")}) do not overlap the configured roots (${conf}): their intersection is empty. ` +
    `Start the client in or below a configured root, or start warden with --client-roots ignore ` +
    `(policy: "filesystem": {"client_roots": "ignore"}) to use the configured roots whatever the client says`
  );
}

/** `read-write, --root` / `read-only, policy` / `read-write, client root inside /a`: for people. */
export function describeSource(root: EffectiveRoot): string {
  const access = root.writable ? "read-write" : "read-only";
  if (root.source === "client") return root.within ? `${access}, client root inside ${root.within}` : `${access}, client root`;
  if (root.source === "cwd") return `${access}, working directory`;
  return root.source ? `${access}, ${root.source}` : access;
}
