import {
  constants,
  fchmodSync,
  fstatSync,
  futimesSync,
  lutimesSync,
  mkdirSync,
  readdirSync,
  readlinkSync,
  renameSync,
  rmdirSync,
  unlinkSync,
  type BigIntStats,
  type Dirent,
} from "node:fs";
import { Fd, wasi } from "@bjorn3/browser_wasi_shim";
import { HostDirent } from "./dirent.js";
import { errnoOf } from "./errno.js";
import { ALL_RIGHTS, filestatOf, filestatOfFd, isOpenable } from "./filestat.js";
import { HostFile } from "./host-file.js";
import type { DirTwin } from "./lower-twin.js";
import { listedEntries, openListed, resolve, statListed, type HostStats, type OpenIntent, type Walk, type WalkStart } from "./resolve.js";
import { anchored, DIR_OPEN, fdPath, SAFE_OPEN, type RootDoor, type RunContext } from "./run-context.js";
import { setFdTimes, timesFor } from "./times.js";

const WRITE_RIGHTS = BigInt(wasi.RIGHTS_FD_WRITE | wasi.RIGHTS_FD_ALLOCATE | wasi.RIGHTS_FD_FILESTAT_SET_SIZE);
const READ_RIGHTS = BigInt(wasi.RIGHTS_FD_READ | wasi.RIGHTS_FD_READDIR);
const LOOKUP_FOLLOW = 1;

interface Listing {
  names: string[];
  types: number[];
  /** Dirents made so far, by index (wasi-libc reads a large directory in several calls). */
  dirents: (HostDirent | undefined)[];
  /** Its regular files and directories by name, for the resolver's listed fast path (`openListed`). */
  openable: ReadonlyMap<string, number>;
}

/**
 * A host directory the module can reach: a preopen (a root) or a directory it opened below one.
 * Every path operation goes through `resolve` from this directory and then acts on the final
 * component anchored on the open parent descriptor (`/proc/self/fd/N/name`), never on a host path
 * string, so a directory swapped for a symlink mid-call cannot redirect it outside the root.
 */
export class HostDirectory extends Fd {
  private listing: Listing | null = null;
  private prestat: wasi.Prestat | null = null;
  private fdstat: wasi.Fdstat | null = null;
  /** Where walks from here start (made once: a search opens every file it lists through it). */
  private readonly start: WalkStart;
  /** This directory as the module would spell it (made on first use, for denials and file names). */
  private base: string | null = null;
  /** Its lower twin (serve --overlay, read-only runs); a preopen's is opened on first need (undefined until then). */
  private twin: DirTwin | null | undefined;

  constructor(
    private readonly ctx: RunContext,
    readonly door: RootDoor,
    readonly fd: number,
    /** Physical components from the root to this directory. */
    readonly rel: readonly string[],
    private readonly preopen = false,
    /** The twin the listed fast path opened with it; undefined: found on first need (host/lower-twin.ts). */
    twin?: DirTwin | null,
  ) {
    super();
    this.start = { door, fd, rel };
    this.twin = door.lower ? twin : null;
  }

  /** Its lower twin, in a read-only run over a copy-on-write workspace's merged view; null otherwise. */
  private lowerTwin(): DirTwin | null {
    if (this.twin === undefined) this.twin = (this.preopen ? this.door.lower?.root() : this.door.lower?.twinAt(this.rel, this.fd)) ?? null;
    return this.twin;
  }

  /** The path as the module would spell it (for denials). */
  private guest(path: string): string {
    if (path.startsWith("/")) return path;
    const base = (this.base ??= this.rel.length === 0 ? this.door.hostPath : `${this.door.hostPath === "/" ? "" : this.door.hostPath}/${this.rel.join("/")}`);
    return path === "" || path === "." ? base : `${base === "/" ? "" : base}/${path}`;
  }

  private walk(path: string, follow: boolean, typeOnly: boolean): Walk | number {
    const w = resolve(this.ctx, this.start, path, { follow, display: this.guest(path), typeOnly });
    return w.ok ? w : w.errno;
  }

  /**
   * Runs `op` on a resolved path and always releases the walk. `typeOnly`: `op` reads only the
   * type of `w.stat` (no bigint stats needed).
   */
  private withWalk<T>(path: string, follow: boolean, onError: (errno: number) => T, op: (w: Walk) => T, typeOnly = false): T {
    const w = this.walk(path, follow, typeOnly);
    if (typeof w === "number") return onError(w);
    try {
      return op(w);
    } catch (err) {
      return onError(errnoOf(err));
    } finally {
      w.release();
    }
  }

  private writable(w: Walk): boolean {
    return this.ctx.writableAt(w.door, w.name === "" ? w.dirRel : [...w.dirRel, w.name], w.dirFd, w.name);
  }

  override fd_prestat_get() {
    if (!this.preopen) return { ret: wasi.ERRNO_BADF, prestat: null };
    // wasi-libc asks twice per preopen (size, then name); the Prestat is immutable.
    this.prestat ??= wasi.Prestat.dir(this.door.hostPath);
    return { ret: 0, prestat: this.prestat };
  }

  override fd_fdstat_get() {
    // wasi-libc asks before every openat (for the inherited rights); the answer never changes and
    // the shim only serializes it.
    if (this.fdstat === null) {
      const fdstat = new wasi.Fdstat(wasi.FILETYPE_DIRECTORY, 0);
      fdstat.fs_rights_base = ALL_RIGHTS;
      fdstat.fs_rights_inherited = ALL_RIGHTS;
      this.fdstat = fdstat;
    }
    return { ret: 0, fdstat: this.fdstat };
  }

  override fd_filestat_get() {
    return filestatOfFd(this.ctx, this.fd);
  }

  override fd_filestat_set_times(atim: bigint, mtim: bigint, fstFlags: number): number {
    if (!this.ctx.writableAt(this.door, this.rel, this.fd)) return this.ctx.refuseReadOnly(this.guest(""));
    return setFdTimes(this.ctx, this.fd, atim, mtim, fstFlags);
  }

  override fd_readdir_single(cookie: bigint) {
    if (cookie === 0n || this.listing === null) {
      const listing = this.list();
      if (typeof listing === "number") return { ret: listing, dirent: null };
      this.listing = listing;
    }
    const i = Number(cookie);
    const { names, types, dirents } = this.listing;
    if (i >= names.length) return { ret: 0, dirent: null };
    // Node's readdir gives no inode numbers; a stable non-zero one per entry keeps wasi-libc from
    // stat'ing every entry to fill d_ino.
    const next = BigInt(i + 1);
    // Buffer.from: a view on Node's shared pool for a short name, about 4x cheaper than TextEncoder's
    // fresh buffer per name; only the view's own bytes are ever copied into the module.
    const dirent = (dirents[i] ??= new HostDirent(next, next, Buffer.from(names[i]!, "utf8"), types[i]!));
    return { ret: 0, dirent };
  }

  /** The entries of this directory (anchored on its descriptor), minus those hidden by deny globs. */
  private list(): Listing | number {
    let entries: Dirent[];
    try {
      // A directory no layer holds lists exactly as its lower twin (host/lower-twin.ts): read it there.
      entries = readdirSync(fdPath(this.twin?.pure ? this.twin.fd : this.fd), { withFileTypes: true });
    } catch (err) {
      return errnoOf(err);
    }
    const names = [".", ".."];
    const types = [wasi.FILETYPE_DIRECTORY, wasi.FILETYPE_DIRECTORY];
    for (const e of entries) {
      if (this.ctx.deniedAt(this.door, [...this.rel, e.name]) !== null) continue;
      names.push(e.name);
      types.push(
        e.isFile() ? wasi.FILETYPE_REGULAR_FILE
        : e.isDirectory() ? wasi.FILETYPE_DIRECTORY
        : e.isSymbolicLink() ? wasi.FILETYPE_SYMBOLIC_LINK
        : e.isCharacterDevice() ? wasi.FILETYPE_CHARACTER_DEVICE
        : e.isBlockDevice() ? wasi.FILETYPE_BLOCK_DEVICE
        : e.isSocket() ? wasi.FILETYPE_SOCKET_STREAM
        : wasi.FILETYPE_UNKNOWN,
      );
    }
    return { names, types, dirents: [], openable: listedEntries(names, types) };
  }

  override path_open(dirflags: number, path: string, oflags: number, rightsBase: bigint, _rightsInh: bigint, fdflags: number) {
    const none = (ret: number) => ({ ret, fd_obj: null });
    const create = (oflags & wasi.OFLAGS_CREAT) !== 0;
    const excl = (oflags & wasi.OFLAGS_EXCL) !== 0;
    const trunc = (oflags & wasi.OFLAGS_TRUNC) !== 0;
    const wantDir = (oflags & wasi.OFLAGS_DIRECTORY) !== 0;
    const append = (fdflags & wasi.FDFLAGS_APPEND) !== 0;
    const write = (rightsBase & WRITE_RIGHTS) !== 0n || trunc || append;
    const read = (rightsBase & READ_RIGHTS) !== 0n || !write;
    const intent: OpenIntent = { create, excl, trunc, append, write, wantDir };
    const listed = openListed(this.ctx, this.start, this.listing?.openable ?? null, path, intent, this.listing !== null ? this.lowerTwin() : null);
    if (listed !== null) {
      const rel = [...this.rel, path];
      if (listed.dir) return { ret: 0, fd_obj: new HostDirectory(this.ctx, this.door, listed.fd, rel, false, listed.twin ?? null) };
      return { ret: 0, fd_obj: new HostFile(this.ctx, this.ctx.writableAt(this.door, rel, listed.fd), listed.fd, this.guest(path), { read: true, write: false, append: false }) };
    }
    // O_CREAT|O_EXCL never follows a final symlink (POSIX).
    const follow = (dirflags & LOOKUP_FOLLOW) !== 0 && !(create && excl);
    return this.withWalk(path, follow, none, (w) => {
      const guestPath = this.guest(path);
      const rootWritable = this.writable(w);
      if ((create || write) && !rootWritable) return none(this.ctx.refuseReadOnly(guestPath));
      const st = w.stat;
      if (st === null) {
        if (!create) return none(wasi.ERRNO_NOENT);
        if (wantDir) return none(wasi.ERRNO_INVAL);
      } else {
        if (create && excl) return none(wasi.ERRNO_EXIST);
        if (st.isSymbolicLink()) return none(wasi.ERRNO_LOOP);
        if (!isOpenable(st)) return none(this.ctx.refuse("sandbox.file_type", guestPath, "only regular files and directories can be opened", wasi.ERRNO_ACCES));
        if (wantDir && !st.isDirectory()) return none(wasi.ERRNO_NOTDIR);
        if (st.isDirectory() && write) return none(wasi.ERRNO_ISDIR);
      }
      let flags = SAFE_OPEN | (write ? (read ? constants.O_RDWR : constants.O_WRONLY) : constants.O_RDONLY);
      if (create) flags |= constants.O_CREAT;
      if (excl) flags |= constants.O_EXCL;
      if (trunc) flags |= constants.O_TRUNC;
      if (append) flags |= constants.O_APPEND;
      if (wantDir || st?.isDirectory()) flags = DIR_OPEN;
      const fd = this.ctx.openHost(anchored(w.dirFd, w.name), flags);
      let keep = false;
      try {
        const opened = fstatSync(fd);
        if (!isOpenable(opened)) return none(this.ctx.refuse("sandbox.file_type", guestPath, "only regular files and directories can be opened", wasi.ERRNO_ACCES));
        if (!this.ctx.isUnder(fd, w.door)) return none(this.ctx.refuse("sandbox.escape", guestPath, "the opened file lies outside the root", wasi.ERRNO_NOTCAPABLE));
        keep = true;
        if (opened.isDirectory()) {
          const rel = w.name === "" ? w.dirRel : [...w.dirRel, w.name];
          return { ret: 0, fd_obj: new HostDirectory(this.ctx, w.door, fd, rel) };
        }
        if (wantDir) {
          keep = false;
          return none(wasi.ERRNO_NOTDIR);
        }
        return { ret: 0, fd_obj: new HostFile(this.ctx, rootWritable, fd, guestPath, { read, write, append }) };
      } finally {
        if (!keep) this.ctx.closeHost(fd);
      }
    }, true);
  }

  override path_filestat_get(flags: number, path: string) {
    const none = (ret: number) => ({ ret, filestat: null });
    const listed = statListed(this.ctx, this.start, this.listing?.openable ?? null, path, (flags & LOOKUP_FOLLOW) !== 0);
    if (listed !== null) return { ret: 0, filestat: filestatOf(listed) };
    return this.withWalk(path, (flags & LOOKUP_FOLLOW) !== 0, none, (w) => (w.stat ? { ret: 0, filestat: filestatOf(exact(w.stat)) } : none(wasi.ERRNO_NOENT)));
  }

  override path_filestat_set_times(flags: number, path: string, atim: bigint, mtim: bigint, fstFlags: number): number {
    return this.withWalk(path, (flags & LOOKUP_FOLLOW) !== 0, (e) => e, (w) => {
      if (!this.writable(w)) return this.ctx.refuseReadOnly(this.guest(path));
      if (w.stat === null) return wasi.ERRNO_NOENT;
      const t = timesFor(exact(w.stat), atim, mtim, fstFlags);
      if (typeof t === "number") return t;
      if (w.name === "") futimesSync(w.dirFd, t.atime, t.mtime);
      else lutimesSync(anchored(w.dirFd, w.name), t.atime, t.mtime);
      return 0;
    });
  }

  override path_create_directory(path: string): number {
    return this.withWalk(path, false, (e) => e, (w) => {
      if (!this.writable(w)) return this.ctx.refuseReadOnly(this.guest(path));
      if (w.name === "" || w.stat !== null) return wasi.ERRNO_EXIST;
      mkdirSync(anchored(w.dirFd, w.name), 0o777);
      return 0;
    });
  }

  override path_remove_directory(path: string): number {
    return this.withWalk(path, false, (e) => e, (w) => {
      if (!this.writable(w)) return this.ctx.refuseReadOnly(this.guest(path));
      if (w.name === "") return wasi.ERRNO_BUSY;
      if (w.stat === null) return wasi.ERRNO_NOENT;
      rmdirSync(anchored(w.dirFd, w.name));
      return 0;
    });
  }

  override path_unlink_file(path: string): number {
    return this.withWalk(path, false, (e) => e, (w) => {
      if (!this.writable(w)) return this.ctx.refuseReadOnly(this.guest(path));
      if (w.name === "" || w.stat?.isDirectory()) return wasi.ERRNO_ISDIR;
      if (w.stat === null) return wasi.ERRNO_NOENT;
      unlinkSync(anchored(w.dirFd, w.name));
      return 0;
    });
  }

  override path_readlink(path: string) {
    const none = (ret: number) => ({ ret, data: null });
    return this.withWalk(path, false, none, (w) => {
      if (w.name === "" || !w.stat?.isSymbolicLink()) return none(w.stat === null && w.name !== "" ? wasi.ERRNO_NOENT : wasi.ERRNO_INVAL);
      return { ret: 0, data: readlinkSync(anchored(w.dirFd, w.name)) };
    });
  }

  override path_link(): number {
    return this.symlink("");
  }

  override path_lookup() {
    // The shim's path_link asks for the source inode first: refuse there, with the same rule.
    return { ret: this.path_link(), inode_obj: null };
  }

  /** symlink(2) and link(2) for the module: refused, modules cannot create links. */
  symlink(newPath: string): number {
    return this.ctx.refuse("sandbox.link", this.guest(newPath), "modules cannot create links", wasi.ERRNO_PERM);
  }

  /**
   * rename(2) within one root, both ends resolved and anchored on their parents. Replacing a
   * regular file keeps its permission bits (copied onto the source first, without set-id bits),
   * so editors that write a temporary file and rename it over the original keep +x.
   */
  renameTo(oldPath: string, target: HostDirectory, newPath: string): number {
    return this.withWalk(oldPath, false, (e) => e, (from) =>
      target.withWalk(newPath, false, (e) => e, (to) => {
        if (from.door !== to.door) {
          return this.ctx.refuse("sandbox.cross_root", this.guest(oldPath), "rename across roots is not allowed", wasi.ERRNO_XDEV);
        }
        if (!this.writable(from)) return this.ctx.refuseReadOnly(this.guest(oldPath));
        if (!target.writable(to)) return this.ctx.refuseReadOnly(target.guest(newPath));
        if (from.name === "" || to.name === "") return wasi.ERRNO_BUSY;
        if (from.stat === null) return wasi.ERRNO_NOENT;
        // FIFOs, sockets and devices are never touched: not moved, not replaced by a rename.
        for (const [stat, path] of [[from.stat, this.guest(oldPath)], [to.stat, target.guest(newPath)]] as const) {
          if (stat && !stat.isFile() && !stat.isDirectory() && !stat.isSymbolicLink()) {
            return this.ctx.refuse("sandbox.file_type", path, "FIFOs, sockets and devices are refused", wasi.ERRNO_ACCES);
          }
        }
        if (to.stat?.isFile() && from.stat.isFile()) this.copyMode(from, Number(to.stat.mode) & 0o777);
        renameSync(anchored(from.dirFd, from.name), anchored(to.dirFd, to.name));
        return 0;
      }),
    );
  }

  private copyMode(from: Walk, mode: number): void {
    const fd = this.ctx.openHost(anchored(from.dirFd, from.name), constants.O_RDONLY | SAFE_OPEN);
    try {
      if (fstatSync(fd).isFile()) fchmodSync(fd, mode);
    } finally {
      this.ctx.closeHost(fd);
    }
  }

  override fd_close(): number {
    // A root's descriptor belongs to the run, not to the module: walks re-rooted by absolute
    // symlinks or `..` use it after the module closed its preopen, so it stays open (and is
    // never a number the kernel could hand out again) until the run ends.
    if (!this.preopen) {
      this.ctx.closeHost(this.fd);
      if (this.twin) this.ctx.closeHost(this.twin.fd);
      this.twin = null;
    }
    return 0;
  }
}

/** Stats of a walk made without `typeOnly` (always bigint: nanosecond times, 64-bit sizes). */
function exact(st: HostStats): BigIntStats {
  if (typeof st.ino !== "bigint") throw new Error("internal: a type-only walk was used for exact stats");
  return st as BigIntStats;
}
