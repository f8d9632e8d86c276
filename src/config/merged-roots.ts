import { closeSync, constants, fstatSync, lstatSync, openSync, readlinkSync, statfsSync } from "node:fs";
import type { HeldDir, HeldIdentity, HeldLower } from "../policy/roots.js";
import { identityOf, openHostRoot, RootMovedError, type RootOpener } from "./held-roots.js";

const DIR_FLAGS = constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW | constants.O_NONBLOCK | constants.O_NOCTTY;

/** The merged views of a copy-on-write workspace, as plain data (serve --overlay). */
export interface MergedRoots {
  /** `/proc/<holder>/root`: the workspace's mount namespace, where each root's path is its merged view. */
  via: string;
  /** The roots the workspace covers (canonical): the merged view replaces each of them. */
  roots: readonly string[];
  /** statfs f_type of the merged view (the workspace driver's: overlayfs, FUSE). */
  fsType: number;
  /** Per root (same order as `roots`): its overlay's lower layer and the layers above it (kernel driver only). */
  layers?: readonly (LowerLayers | undefined)[];
}

/** Where a kernel overlay's layers are (workspace/open.ts MergedLayers). */
export interface LowerLayers {
  /** The lower layer from outside the holder's namespace (`/proc/<pid>/root<workspace>/roots/<i>/lower`). */
  lowerViaProc: string;
  /** The real root's identity, which the lower layer must have. */
  dev: string;
  ino: string;
  /** Every layer directory above the lower one, top first. */
  above: readonly string[];
}

const within = (outer: string, inner: string): boolean => inner === outer || inner.startsWith(outer === "/" ? "/" : `${outer}/`);

/**
 * A RootOpener for serve --overlay: a path inside a workspace's root is opened in the merged view,
 * never in the real tree. The root itself is opened at `<via><root>` (the path above a root is not
 * the agent's to change), must be on the driver's filesystem and name itself; every directory below it is opened
 * from its parent's descriptor with O_NOFOLLOW: an absolute symlink met under `/proc/<pid>/root`
 * would resolve against this process's root (the real tree, or `/`), so none is ever followed.
 * A path outside every workspace root is opened in the host (a read-only root elsewhere).
 */
export function mergedRootOpener(view: MergedRoots): RootOpener {
  return (path: string): HeldDir => {
    const root = view.roots.find((r) => within(r, path));
    if (root === undefined) return openHostRoot(path);
    let fd = openSync(`${view.via}${root}`, DIR_FLAGS);
    try {
      if (Number(statfsSync(`/proc/self/fd/${fd}`).type) !== view.fsType || readlinkSync(`/proc/self/fd/${fd}`) !== root) {
        throw new RootMovedError(`root ${root} is not the workspace's merged view (its namespace changed or its holder is gone); restart the server`);
      }
      // A view on the real tree's own filesystem (the copy driver's) must at least not be the real directory.
      if (sameDir(fstatSync(fd, { bigint: true }), root)) throw new RootMovedError(`root ${root} in the workspace's namespace is the real directory, not the workspace's copy; restart the server`);
      const rest = path.slice(root === "/" ? 1 : root.length + 1);
      for (const name of rest === "" ? [] : rest.split("/")) {
        const next = openSync(`/proc/self/fd/${fd}/${name}`, DIR_FLAGS);
        closeSync(fd);
        fd = next;
      }
      if (readlinkSync(`/proc/self/fd/${fd}`) !== path) throw new RootMovedError(`root ${path} changed while it was being opened`);
      const merged = fstatSync(fd, { bigint: true });
      const layers = view.layers?.[view.roots.indexOf(root)];
      const lower = layers ? holdLower(layers, rest === "" ? [] : rest.split("/"), merged.ino) : null;
      return { fd, ...identityOf(merged), via: view.via, ...(lower ? { lower } : {}) };
    } catch (err) {
      closeSync(fd);
      throw err;
    }
  };
}

/**
 * The lower layer at a held root's place, and the layers above it, each held by descriptor
 * (sandbox/host/lower-twin.ts). The lower layer must be the real root it was made from (the overlay's
 * own root pairs with it by construction), and a directory below (walked name by name, never
 * following a symlink) must be the merged directory's own lower one: overlayfs gives a directory from
 * the lower layer, or copied up from it, the lower directory's inode (the overlay's root keeps the
 * upper layer's, which is why it is not compared). Null, and the file tools read everything through
 * the merged view, when any of that cannot be had.
 */
function holdLower(layers: LowerLayers, prefix: string[], mergedIno: bigint): HeldLower | null {
  const opened: number[] = [];
  const hold = (path: string): HeldIdentity => {
    const fd = openSync(path, DIR_FLAGS);
    opened.push(fd);
    return { fd, ...identityOf(fstatSync(fd, { bigint: true })) };
  };
  try {
    let dir = hold(layers.lowerViaProc);
    if (dir.dev !== layers.dev || dir.ino !== layers.ino) throw new Error("the lower layer is not the real root");
    for (const name of prefix) dir = hold(`/proc/self/fd/${dir.fd}/${name}`);
    if (prefix.length > 0 && dir.ino !== String(mergedIno)) throw new Error("the merged root is not its lower directory");
    const above = layers.above.map(hold);
    for (const fd of opened) if (fd !== dir.fd && !above.some((l) => l.fd === fd)) closeSync(fd);
    return { dir, layers: above, prefix };
  } catch {
    for (const fd of opened) closeSync(fd);
    return null;
  }
}

function sameDir(st: { dev: bigint; ino: bigint }, hostPath: string): boolean {
  try {
    const h = lstatSync(hostPath, { bigint: true });
    return h.dev === st.dev && h.ino === st.ino;
  } catch {
    return false;
  }
}

/**
 * A directory's canonical path inside a merged view (a command's working directory, serve --overlay):
 * `path` (absolute, normalized, inside the root held as `held`) opened from the held root's
 * descriptor, symlinks followed as the command will follow them, and kept only when the directory
 * reached is still on the workspace's overlay (an absolute symlink there leads to the host's tree,
 * whatever path it names). Null when it does not exist, is not a directory, or left the view.
 */
export function realpathInView(rootPath: string, held: HeldDir, path: string): string | null {
  const rest = path === rootPath ? "" : path.slice(rootPath === "/" ? 1 : rootPath.length + 1);
  let fd: number;
  try {
    fd = openSync(rest === "" ? `/proc/self/fd/${held.fd}` : `/proc/self/fd/${held.fd}/${rest}`, constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NONBLOCK | constants.O_NOCTTY);
  } catch {
    return null;
  }
  try {
    if (String(fstatSync(fd, { bigint: true }).dev) !== held.dev) return null;
    return readlinkSync(`/proc/self/fd/${fd}`);
  } finally {
    closeSync(fd);
  }
}
