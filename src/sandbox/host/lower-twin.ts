import { constants, fstatSync, readdirSync } from "node:fs";
import type { HeldIdentity, HeldLower } from "../../policy/roots.js";
import { codeOf } from "./errno.js";
import { anchored, DIR_OPEN, fdPath, type RunContext } from "./run-context.js";

/**
 * The lower twin of a merged view (serve --overlay, kernel driver). Reading a file through
 * overlayfs costs a lookup in every layer and a hop through the overlay on each read; a file no
 * layer holds is, byte for byte, the lower layer's file at the same place, so a read-only run opens
 * it there. Everything else stays on the merged view: listings (the names the module can see),
 * stats, the resolver's walks, writes, and every file some layer holds.
 *
 * Why the lower file is the merged one. The kernel driver mounts with `userxattr` and
 * `redirect_dir=nofollow` and no metacopy, so a name in a merged directory comes from the topmost
 * layer that has it, and from the lower layer only when no layer above has it, at the same relative
 * path (a renamed lower directory is copied, never redirected). A layer "has" a name when its
 * directory at that path lists it, whatever it is there: a file, a directory, a whiteout (a deleted
 * name) or an opaque directory. So a name is the lower layer's own when no layer's directory at this
 * path lists it, or no layer has this directory at all; and every name below a directory no layer
 * has is the lower layer's own too (a layer cannot hold `a/b` without holding `a`).
 *
 * What it opens, and how. The lower layer is the holder's bind of the real root (nothing is mounted
 * below it), held by descriptor and checked by identity in every run; a directory's twin is opened
 * one plain name at a time with O_DIRECTORY|O_NOFOLLOW from its parent's twin. A directory some layer
 * holds (copied up, or made in a layer) keeps its twin only when the twin's device is the lower
 * layer's and its inode is the merged directory's: overlayfs gives a directory copied up from the
 * lower layer the lower directory's inode, and one made in a layer its own, so that one gets none. A
 * directory no layer holds needs no such check: overlayfs finds it nowhere but in the lower layer, at
 * the same path. A file is opened with O_NOFOLLOW and kept only when it is a regular file. The
 * layers are read the same way, by descriptor, name by name. The lower layer is the real tree inside
 * the root: nothing there is outside what the root shows.
 *
 * The race, and what a reader sees. Which names a layer holds is read once per directory and run; a
 * file copied up (written) by a command after that is read as it was when this run looked, or as it
 * is now: a concurrent read sees the old or the new content, never a mix of the two files and never
 * anything outside the root. A run that started after a write completed sees the write.
 */

/** What one run knows about a root's lower layer: reopened from the held descriptors on first use. */
export class LowerView {
  /** The lower directory's device (every twin must be on it), set once the view is open. */
  private dev: bigint | null = null;
  private layerFds: number[] | null = null;
  /** The lower directory at the root's place, reopened for this run. */
  private rootFd: number | null = null;
  private failed = false;

  constructor(
    private readonly ctx: RunContext,
    private readonly held: HeldLower,
  ) {}

  /**
   * The twin of the root's own directory (the preopen's, kept until the run ends), or null when the
   * held directories cannot be reopened as themselves. Which lower directory pairs with the merged
   * root was checked when the root was held (config/merged-roots.ts), and the run's door is the held
   * merged directory (its identity checked).
   */
  root(): DirTwin | null {
    return this.open() ? new DirTwin(this, this.rootFd!, [], false) : null;
  }

  /**
   * The twin of a directory the resolver opened by a walk (`mergedFd`, at `rel` below the root): the
   * lower directory at `rel`, walked name by name from the root's twin, paired by inode (the root
   * itself needs no pairing: the walk ended where it started). It is pure when some directory on the
   * way has no layer holding the next name.
   */
  twinAt(rel: readonly string[], mergedFd: number): DirTwin | null {
    if (!this.open()) return null;
    let fd: number;
    try {
      fd = this.ctx.openHost(fdPath(this.rootFd!), constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NONBLOCK | constants.O_NOCTTY);
    } catch {
      return null;
    }
    let pure = false;
    for (let i = 0; i < rel.length; i++) {
      if (!pure) {
        const shadowed = this.shadowedAt(rel.slice(0, i));
        if (shadowed === "all") {
          this.ctx.closeHost(fd);
          return null;
        }
        pure = !shadowed.has(rel[i]!);
      }
      let next: number;
      try {
        next = this.ctx.openHost(anchored(fd, rel[i]!), DIR_OPEN);
      } catch {
        this.ctx.closeHost(fd);
        return null;
      }
      this.ctx.closeHost(fd);
      fd = next;
    }
    if (rel.length > 0 && !pure && !this.sameInode(fd, mergedFd)) {
      this.ctx.closeHost(fd);
      return null;
    }
    return new DirTwin(this, fd, rel, pure);
  }

  /** Reopens the held lower directory and layers once per run; false when any is not the one held. */
  private open(): boolean {
    if (this.rootFd !== null) return true;
    if (this.failed) return false;
    const dir = this.reopen(this.held.dir);
    const layers: number[] = [];
    for (const layer of this.held.layers) {
      const opened = dir === null ? null : this.reopen(layer);
      if (opened === null) break;
      layers.push(opened.fd);
    }
    if (dir === null || layers.length !== this.held.layers.length) {
      this.failed = true;
      if (dir !== null) this.ctx.closeHost(dir.fd);
      for (const fd of layers) this.ctx.closeHost(fd);
      return false;
    }
    this.dev = dir.dev;
    this.rootFd = dir.fd;
    this.layerFds = layers;
    return true;
  }

  /**
   * A twin's child directory. One no layer holds is the merged child by construction (no layer entry,
   * so no redirect, nothing mounted below the lower bind); one a layer holds is kept only on the
   * lower layer's device with the merged child's inode.
   */
  openChild(parentFd: number, name: string, mergedFd: number, pure: boolean): number | null {
    let fd: number;
    try {
      fd = this.ctx.openHost(anchored(parentFd, name), DIR_OPEN);
    } catch {
      return null;
    }
    if (pure || this.sameInode(fd, mergedFd)) return fd;
    this.ctx.closeHost(fd);
    return null;
  }

  /**
   * The names some layer holds in the directory at `rel` (below the held root), or "all" when a
   * layer holds something other than a directory on the way (the merged directory is not the lower
   * one's then) or a layer cannot be read.
   */
  shadowedAt(rel: readonly string[]): ReadonlySet<string> | "all" {
    const names = new Set<string>();
    const path = [...this.held.prefix, ...rel];
    for (const layer of this.layerFds ?? []) {
      let fd = layer;
      let present = true;
      try {
        for (const name of path) {
          let next: number;
          try {
            next = this.ctx.openHost(anchored(fd, name), DIR_OPEN);
          } catch (err) {
            if (codeOf(err) !== "ENOENT") return "all";
            present = false;
            break;
          }
          if (fd !== layer) this.ctx.closeHost(fd);
          fd = next;
        }
        if (present) for (const name of readdirSync(fdPath(fd))) names.add(name);
      } catch {
        return "all";
      } finally {
        if (fd !== layer) this.ctx.closeHost(fd);
      }
    }
    return names;
  }

  /** The held directory reopened through its descriptor, if it is still the one held. */
  private reopen(held: HeldIdentity): { fd: number; dev: bigint } | null {
    let fd: number;
    try {
      // The descriptor's /proc entry is a magic link to the open directory: followed on purpose.
      fd = this.ctx.openHost(fdPath(held.fd), constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NONBLOCK | constants.O_NOCTTY);
    } catch {
      return null;
    }
    try {
      const st = fstatSync(fd, { bigint: true });
      if (String(st.dev) === held.dev && String(st.ino) === held.ino) return { fd, dev: st.dev };
    } catch {
      // not the one held
    }
    this.ctx.closeHost(fd);
    return null;
  }

  /** `lowerFd` lies on the lower layer's device and has the merged directory's inode. */
  private sameInode(lowerFd: number, mergedFd: number): boolean {
    try {
      const lower = fstatSync(lowerFd, { bigint: true });
      const merged = fstatSync(mergedFd, { bigint: true });
      return lower.isDirectory() && lower.dev === this.dev && lower.ino === merged.ino;
    } catch {
      return false;
    }
  }
}

/** One merged directory's twin in the lower layer, owned by the HostDirectory that holds the merged one. */
export class DirTwin {
  /** Names some layer holds here (read on first need); "all" when none is the lower layer's own. */
  private shadowed: ReadonlySet<string> | "all" | null = null;

  constructor(
    private readonly view: LowerView,
    /** The lower directory, opened by the run (closed with the merged directory). */
    readonly fd: number,
    /** Components from the held root to this directory. */
    private readonly rel: readonly string[],
    /** No layer has this directory at all, so every name in it is the lower layer's own (and its listing is the lower one's). */
    readonly pure: boolean,
  ) {}

  /** Whether `name` here is the lower layer's own: no layer holds it. */
  lowerOwns(name: string): boolean {
    if (this.pure) return true;
    this.shadowed ??= this.view.shadowedAt(this.rel);
    return this.shadowed !== "all" && !this.shadowed.has(name);
  }

  /** The twin of the merged child directory `name` (opened as `mergedFd`), or null when it has none. */
  child(name: string, mergedFd: number): DirTwin | null {
    if (!this.pure) {
      this.shadowed ??= this.view.shadowedAt(this.rel);
      if (this.shadowed === "all") return null;
    }
    const pure = this.lowerOwns(name);
    const fd = this.view.openChild(this.fd, name, mergedFd, pure);
    return fd === null ? null : new DirTwin(this.view, fd, [...this.rel, name], pure);
  }
}
