import { closeSync, constants, fstatSync, lstatSync, openSync, readlinkSync, statfsSync } from "node:fs";
import type { HeldDir } from "../policy/roots.js";
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
      return { fd, ...identityOf(fstatSync(fd, { bigint: true })), via: view.via };
    } catch (err) {
      closeSync(fd);
      throw err;
    }
  };
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
