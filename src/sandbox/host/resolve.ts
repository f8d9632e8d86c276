import { constants, fstatSync, lstatSync, readlinkSync, type BigIntStats, type Stats } from "node:fs";
import { wasi } from "@bjorn3/browser_wasi_shim";
import { movedMessage } from "../../config/held-roots.js";
import { codeOf, errnoOf } from "./errno.js";
import type { DirTwin } from "./lower-twin.js";
import { anchored, DIR_OPEN, SAFE_OPEN, type RootDoor, type RunContext } from "./run-context.js";

/** Symlinks followed in one resolution before ELOOP (Linux's own limit). */
export const MAX_SYMLINK_HOPS = 40;

/** lstat of a component: exact (bigint) by default, plain numbers when only its type is needed. */
export type HostStats = BigIntStats | Stats;

/** Where a walk starts: a preopen or a directory the module opened, with its physical path. */
export interface WalkStart {
  readonly door: RootDoor;
  readonly fd: number;
  /** Physical components from the root to this directory (no symlinks, no `.`/`..`). */
  readonly rel: readonly string[];
}

/** A resolved guest path: its parent directory, held open, and the final component. */
export interface Walk {
  ok: true;
  door: RootDoor;
  /** Open descriptor of the directory holding `name` (verified to lie under the root). */
  dirFd: number;
  dirRel: readonly string[];
  /** Final component, a single name; "" when the path names the directory `dirFd` itself. */
  name: string;
  /**
   * lstat of the final component (after following it when asked), or null when it does not exist.
   * BigIntStats unless the walk was asked for `typeOnly`.
   */
  stat: HostStats | null;
  /** Closes the directories the walk opened. Always call it. */
  release(): void;
}

export type WalkResult = Walk | { ok: false; errno: number };

export interface WalkOptions {
  /** Follow a symlink in the final component (intermediate ones are always followed). */
  follow: boolean;
  /** The path as the module spelled it, for denials (default: `guestPath`). */
  display?: string;
  /** The caller needs only the final component's type: lstat it with numbers (cheaper than bigints). */
  typeOnly?: boolean;
}

interface Level {
  fd: number;
  rel: readonly string[];
  owned: boolean;
}

/**
 * THE resolver: the only code that turns a guest path into a host location. Walks the path one
 * component at a time from an open directory descriptor, opening each directory with
 * O_DIRECTORY|O_NOFOLLOW through `/proc/self/fd/<dir>/<name>`, so no host path string is ever
 * resolved by the kernel beyond a single component. It refuses absolute paths, `..` above the root
 * (it keeps the stack of open directories and pops it itself), NUL bytes and names hidden by deny
 * globs; it follows symlinks itself (at most 40 hops): relative targets from the link's directory,
 * absolute targets only when they lie under the same root (then walked again from the root),
 * anything else is an escape. The directory it returns is verified through `/proc/self/fd` to lie
 * under the root.
 */
export function resolve(ctx: RunContext, start: WalkStart, guestPath: string, opts: WalkOptions): WalkResult {
  const { door } = start;
  const shown = opts.display ?? guestPath;
  if (guestPath.includes("\0")) {
    return { ok: false, errno: ctx.refuse("sandbox.invalid_path", shown, "path contains a NUL byte", wasi.ERRNO_INVAL) };
  }
  if (guestPath.startsWith("/")) {
    return { ok: false, errno: ctx.refuse("sandbox.escape", shown, "absolute paths are not resolved inside a root", wasi.ERRNO_NOTCAPABLE) };
  }
  if (guestPath === "") return { ok: false, errno: wasi.ERRNO_NOENT };

  let stack: Level[] = [{ fd: start.fd, rel: start.rel, owned: false }];
  const release = () => {
    for (const level of stack) if (level.owned) ctx.closeHost(level.fd);
    stack = [];
  };
  const fail = (errno: number): WalkResult => {
    release();
    return { ok: false, errno };
  };
  const top = () => stack[stack.length - 1]!;
  const popTo = (levels: Level[]) => {
    for (const level of stack) if (level.owned && !levels.includes(level)) ctx.closeHost(level.fd);
    stack = levels;
  };

  let mustBeDir = guestPath.endsWith("/");
  const queue = guestPath.split("/").filter((c) => c !== "");
  let hops = 0;

  try {
    while (queue.length > 0) {
      const name = queue.shift()!;
      const last = queue.length === 0;

      if (name === ".") {
        if (last) return finish(ctx, door, stack, "", mustBeDir, release, undefined, shown);
        continue;
      }
      if (name === "..") {
        const here = top();
        if (here.rel.length === 0) {
          return fail(ctx.refuse("sandbox.escape", shown, "`..` leads above the root", wasi.ERRNO_NOTCAPABLE));
        }
        if (stack.length > 1) {
          const gone = stack.pop()!;
          if (gone.owned) ctx.closeHost(gone.fd);
        } else {
          // Above the directory the walk started from: reopen its parent chain from the root.
          const chain = openChain(ctx, door, here.rel.slice(0, -1));
          if (typeof chain === "number") return fail(chain);
          popTo(chain);
        }
        if (last) return finish(ctx, door, stack, "", mustBeDir, release, undefined, shown);
        continue;
      }

      const here = top();
      const rel = [...here.rel, name];
      const moved = ctx.movedAt(door, rel);
      if (moved !== null) return fail(ctx.refuse("roots.moved", moved, movedMessage(moved), wasi.ERRNO_NOTCAPABLE));
      const glob = ctx.deniedAt(door, rel);
      if (glob !== null) return fail(ctx.refuseDenied(glob, shown));

      if (last && !opts.follow && !mustBeDir) {
        const stat = lstatAt(here.fd, name, !opts.typeOnly);
        if (typeof stat === "number") return fail(stat);
        return finish(ctx, door, stack, name, false, release, stat, shown);
      }

      if (!last) {
        // Fast path: the component is a real directory.
        try {
          const fd = ctx.openHost(anchored(here.fd, name), DIR_OPEN);
          stack.push({ fd, rel, owned: true });
          continue;
        } catch (err) {
          const code = codeOf(err);
          if (code !== "ENOTDIR" && code !== "ELOOP") return fail(errnoOf(err));
        }
      }

      const stat = lstatAt(here.fd, name, last && !opts.typeOnly);
      if (typeof stat === "number") return fail(stat);
      if (stat === null) {
        if (last) return finish(ctx, door, stack, name, mustBeDir, release, null, shown);
        return fail(wasi.ERRNO_NOENT);
      }
      if (!stat.isSymbolicLink()) {
        if (last) return finish(ctx, door, stack, name, mustBeDir, release, stat, shown);
        if (!stat.isDirectory()) return fail(wasi.ERRNO_NOTDIR);
        // A directory that was not one a moment ago (a concurrent swap): retry, bounded.
        if (++hops > MAX_SYMLINK_HOPS) return fail(wasi.ERRNO_LOOP);
        queue.unshift(name);
        continue;
      }

      // A symlink: the runtime follows it itself.
      if (++hops > MAX_SYMLINK_HOPS) return fail(wasi.ERRNO_LOOP);
      let target: string;
      try {
        target = readlinkSync(anchored(here.fd, name));
      } catch (err) {
        // Swapped away between lstat and readlink: try the component again.
        if (codeOf(err) === "EINVAL" || codeOf(err) === "ENOENT") {
          queue.unshift(name);
          continue;
        }
        return fail(errnoOf(err));
      }
      if (target === "") return fail(wasi.ERRNO_NOENT);
      if (target.endsWith("/") && last) mustBeDir = true;
      const parts = target.split("/").filter((c) => c !== "");
      if (target.startsWith("/")) {
        const prefix = door.hostPath === "/" ? "/" : door.hostPath + "/";
        if (target !== door.hostPath && !target.startsWith(prefix)) {
          return fail(ctx.refuse("sandbox.escape", shown, "a symlink points outside the root", wasi.ERRNO_NOTCAPABLE));
        }
        // Walk the target again from the root: its `..` components cannot climb out either.
        popTo([{ fd: door.fd, rel: [], owned: false }]);
        queue.unshift(...parts.slice(door.hostPath.split("/").filter((c) => c !== "").length));
      } else {
        queue.unshift(...parts);
      }
      if (queue.length === 0) return finish(ctx, door, stack, "", mustBeDir, release, undefined, shown);
    }
    return finish(ctx, door, stack, "", mustBeDir, release, undefined, shown);
  } catch (err) {
    return fail(errnoOf(err));
  }
}

/** What a `path_open` asks for, decoded from its flags and rights by the caller. */
export interface OpenIntent {
  create: boolean;
  excl: boolean;
  trunc: boolean;
  append: boolean;
  write: boolean;
  wantDir: boolean;
}

/**
 * The regular files and directories of a directory listing (WASI file types), kept so that opening
 * one of them can take the listed fast path (`openListed`). The listing leaves out names hidden by
 * deny globs, so they never get here.
 */
export function listedEntries(names: readonly string[], types: readonly number[]): ReadonlyMap<string, number> {
  const entries = new Map<string, number>();
  for (let i = 0; i < names.length; i++) {
    const type = types[i]!;
    if (type === wasi.FILETYPE_REGULAR_FILE || type === wasi.FILETYPE_DIRECTORY) entries.set(names[i]!, type);
  }
  return entries;
}

/** Open flags of the listed fast path for a file: read-only, never a final symlink, never block, never a controlling tty. */
const LISTED_FILE_OPEN = constants.O_RDONLY | SAFE_OPEN;

/** A descriptor opened by the listed fast path: a regular file, or a directory verified under the root. */
export interface ListedOpen {
  fd: number;
  dir: boolean;
  /** A directory's lower twin (serve --overlay, read-only runs), to hand to the directory opened. */
  twin?: DirTwin | null;
}

/**
 * The listed fast path: a read-only open of a name the directory's most recent listing typed as a
 * regular file or a directory. A search opens every file it lists; the full path (`resolve`'s
 * lstat, open, fstat, readlink of the result) costs four host calls per file, this one two.
 *
 * It applies only to a single plain component (no `/`, not `.` or `..`, no NUL) found in `listed`,
 * opened with no create/excl/trunc/append/write (and a file not as a directory). Anything it does
 * not accept (an open error such as ELOOP or ENOENT, a type other than the listed one, a directory
 * outside the root) closes what it opened and returns null: the caller then takes the full path,
 * which answers (errors, denials) exactly as if the fast path did not exist.
 * - A listed file is opened with O_RDONLY|O_NOFOLLOW|O_NONBLOCK|O_NOCTTY (a symlink swapped in
 *   fails with ELOOP, a FIFO opens at once) and kept only when fstat says it is a regular file. The
 *   readlink that checks an opened file lies under the root is skipped: the file was opened by one
 *   name, without following a symlink, from a directory that was verified under the root when it
 *   was opened (every HostDirectory is: a root when the run starts, any other by its open).
 * - A listed directory is opened with O_DIRECTORY|O_NOFOLLOW (so it is one, and not a symlink)
 *   and checked under the root with readlink exactly as the full path does; only the lstat before
 *   the open is saved.
 *
 * Residual races, both between listing and open: a listed file swapped for a device node has its
 * driver's open() called before the fstat refuses it (the full path has the same window between its
 * lstat and its open; making device nodes needs CAP_MKNOD); a directory the module holds open,
 * moved outside its root by another host process, lets the module read the regular files in it
 * (the full path re-checks every opened file; a listing cannot be trusted more than its descriptor,
 * since the module chooses when to list and when to open).
 *
 * `twin`: the directory's lower twin in a copy-on-write workspace (host/lower-twin.ts; only in a
 * read-only run). A listed file no layer holds is opened there instead of through the merged view,
 * the same way (O_NOFOLLOW, kept only when regular); a listed directory gets its own twin.
 */
export function openListed(ctx: RunContext, start: WalkStart, listed: ReadonlyMap<string, number> | null, path: string, intent: OpenIntent, twin: DirTwin | null = null): ListedOpen | null {
  if (listed === null || intent.create || intent.excl || intent.trunc || intent.append || intent.write) return null;
  const type = listed.get(path);
  if (type === undefined || !isPlainName(path)) return null;
  if (type === wasi.FILETYPE_DIRECTORY) {
    let fd: number;
    try {
      fd = ctx.openHost(anchored(start.fd, path), DIR_OPEN);
    } catch {
      return null;
    }
    if (ctx.isUnder(fd, start.door)) return { fd, dir: true, twin: twin?.child(path, fd) ?? null };
    ctx.closeHost(fd);
    return null;
  }
  if (intent.wantDir) return null;
  if (twin !== null && twin.lowerOwns(path)) {
    const fd = openRegular(ctx, twin.fd, path);
    if (fd !== null) return { fd, dir: false };
  }
  const fd = openRegular(ctx, start.fd, path);
  return fd === null ? null : { fd, dir: false };
}

/** A listed name opened read-only from `dirFd` (never a final symlink), kept only when it is a regular file. */
function openRegular(ctx: RunContext, dirFd: number, name: string): number | null {
  let fd: number;
  try {
    fd = ctx.openHost(anchored(dirFd, name), LISTED_FILE_OPEN);
  } catch {
    return null;
  }
  let regular = false;
  try {
    regular = fstatSync(fd).isFile();
  } catch {
    // unknown: take the full path
  }
  if (regular) return fd;
  ctx.closeHost(fd);
  return null;
}

/**
 * The listed fast path for `path_filestat_get` (a listing with sizes stats every name it lists):
 * the lstat of a plain name the directory's most recent listing holds, anchored on the directory's
 * descriptor, with no walk. The full walk would do exactly this lstat as its last and only step for
 * such a name; what it saves is the per-name deny-glob match (the listing already left out every
 * name a deny glob hides, and the globs do not change during a run) and the walk's allocations.
 * Returns null, and the caller takes the full path, for anything else: a name not listed or not
 * plain, a moved root below the directory, a name that is gone, or a symlink to be followed.
 */
export function statListed(ctx: RunContext, start: WalkStart, listed: ReadonlyMap<string, number> | null, path: string, follow: boolean): BigIntStats | null {
  if (listed === null || !listed.has(path) || !isPlainName(path)) return null;
  if (ctx.movedAt(start.door, [...start.rel, path]) !== null) return null;
  let stat: BigIntStats | undefined;
  try {
    stat = ctx.dirStat.lstat(start.fd, path);
  } catch {
    return null;
  }
  if (stat === undefined || (follow && stat.isSymbolicLink())) return null;
  return stat;
}

/** A single name of a directory: not empty, not `.` or `..`, no `/`, no NUL. */
function isPlainName(name: string): boolean {
  return name !== "" && name !== "." && name !== ".." && !name.includes("/") && !name.includes("\0");
}

/** lstat of one component anchored on a directory descriptor: stats, null (absent) or an errno. */
function lstatAt(dirFd: number, name: string, bigint: boolean): HostStats | null | number {
  try {
    return lstatSync(anchored(dirFd, name), { bigint, throwIfNoEntry: false }) ?? null;
  } catch (err) {
    return errnoOf(err);
  }
}

/** Reopens the physical chain `rel` from the root (used when `..` climbs above the start). */
function openChain(ctx: RunContext, door: RootDoor, rel: readonly string[]): Level[] | number {
  const levels: Level[] = [{ fd: door.fd, rel: [], owned: false }];
  for (let i = 0; i < rel.length; i++) {
    const parent = levels[levels.length - 1]!;
    try {
      levels.push({ fd: ctx.openHost(anchored(parent.fd, rel[i]!), DIR_OPEN), rel: rel.slice(0, i + 1), owned: true });
    } catch (err) {
      for (const l of levels) if (l.owned) ctx.closeHost(l.fd);
      return errnoOf(err);
    }
  }
  return levels;
}

function finish(
  ctx: RunContext,
  door: RootDoor,
  stack: Level[],
  name: string,
  mustBeDir: boolean,
  release: () => void,
  known: HostStats | null | undefined,
  shown: string,
): WalkResult {
  const dir = stack[stack.length - 1]!;
  // Directories the walk opened itself are checked against the root (the start was checked when opened).
  if (dir.owned && !ctx.isUnder(dir.fd, door)) {
    release();
    return { ok: false, errno: ctx.refuse("sandbox.escape", shown, "a directory moved outside the root during the call", wasi.ERRNO_NOTCAPABLE) };
  }
  let stat: HostStats | null;
  if (known !== undefined) stat = known;
  else if (name === "") {
    const s = ctx.fstat(dir.fd);
    if (s.stat === null) {
      release();
      return { ok: false, errno: s.ret };
    }
    stat = s.stat;
  } else stat = null;
  if (mustBeDir && stat !== null && !stat.isDirectory()) {
    release();
    return { ok: false, errno: wasi.ERRNO_NOTDIR };
  }
  return { ok: true, door, dirFd: dir.fd, dirRel: dir.rel, name, stat, release };
}
