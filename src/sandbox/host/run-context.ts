import { closeSync, constants, fstatSync, openSync, readlinkSync } from "node:fs";
import { wasi } from "@bjorn3/browser_wasi_shim";
import { movedMessage, pathLeadsTo } from "../../config/held-roots.js";
import { compileDenyRules, denyRuleName, relativeUnder, type DenyRules } from "../../policy/path-rules.js";
import type { Preopen, SandboxDenial, SandboxScope } from "../types.js";
import { DirStat } from "./dir-stat.js";
import { DoorCache, HELD_OPEN, openHeld } from "./door-cache.js";
import { errnoOf } from "./errno.js";
import type { FdTracker } from "./fd-tracker.js";
import { LowerView } from "./lower-twin.js";
import { fdPath } from "./proc-fd.js";

export { anchored, fdPath } from "./proc-fd.js";

/** One preopen as the runtime holds it: the root's host path and an open descriptor on it. */
export interface RootDoor {
  hostPath: string;
  writable: boolean;
  fd: number;
  /** A read-only run's view of the root's lower layer (serve --overlay, kernel driver: host/lower-twin.ts). */
  lower?: LowerView;
}

/** At most this many denials are kept per run (a module looping on refusals cannot grow memory). */
const MAX_DENIALS = 64;

/**
 * Open flags every host open gets: never follow a final symlink, never block on a FIFO, never make
 * a terminal the controlling one (only relevant if a device slips in between a check and an open).
 */
export const SAFE_OPEN = constants.O_NOFOLLOW | constants.O_NONBLOCK | constants.O_NOCTTY;
export const DIR_OPEN = constants.O_RDONLY | constants.O_DIRECTORY | SAFE_OPEN;

/**
 * Everything one module run shares: its roots, deny rules, the denials it collected and the host
 * descriptors it holds. Created per run and dropped after it; no state outlives a run.
 */
export class RunContext {
  readonly doors: RootDoor[] = [];
  readonly denials: SandboxDenial[] = [];
  /** Held read-only roots (moved ones too): what lies inside them is never writable, wherever it is now. */
  private readonly readOnlyHeld: number[] = [];
  /** Roots whose path no longer leads to the held directory: refused by that path. */
  private readonly moved: string[] = [];
  private readonly deny: DenyRules;
  private readonly hasDeny: boolean;
  private readonly open = new Set<number>();
  /** lstat of a plain name in one of this run's directories (host/dir-stat.ts). */
  readonly dirStat = new DirStat();

  /**
   * `deny`: the scope's globs already compiled (a worker's cache); compiled here when absent.
   * `kept`: the runner's held roots kept open across its runs (host/door-cache.ts); absent: each
   * held root is opened for this run and closed after it.
   */
  constructor(scope: SandboxScope, private readonly tracker: FdTracker, deny?: DenyRules, private readonly kept?: DoorCache) {
    this.deny = deny ?? compileDenyRules(scope.denyGlobs);
    this.hasDeny = scope.denyGlobs.length > 0;
    for (const p of scope.preopens) {
      const door = p.held ? this.openHeldDoor(p, p.held) : this.openDoor(p.hostPath, p.writable);
      if (door) this.doors.push(door);
    }
  }

  /**
   * Opens the directory the server holds for a root, through its descriptor (never re-resolved by
   * path). When the root's path no longer leads there, the root is refused by that path
   * (`roots.moved`); a read-only one stays known, so what is inside it stays read-only.
   */
  private openHeldDoor(p: Preopen, held: NonNullable<Preopen["held"]>): RootDoor | null {
    // A workspace's merged view (serve --overlay): its path there must still lead to it, which also
    // fails once the workspace's holder is gone (its namespace, and so the view, went with it).
    if (held.via !== undefined && !pathLeadsTo(p.hostPath, held)) {
      this.refuse("roots.moved", p.hostPath, movedMessage(p.hostPath), 0);
      return null;
    }
    // Kept by the runner across its runs, or opened for this run only (closed with it).
    const fd =
      this.kept && DoorCache.keeps(held)
        ? this.kept.get(held)
        : openHeld(
            held,
            (path) => this.openHost(path, HELD_OPEN),
            (opened) => this.closeHost(opened),
          );
    if (typeof fd !== "number") {
      this.refuse("sandbox.escape", p.hostPath, fd.refused, 0);
      return null;
    }
    if (!p.writable) this.readOnlyHeld.push(fd);
    if (this.hostPathOf(fd) !== p.hostPath) {
      if (p.writable) this.closeHost(fd); // a kept descriptor is not the run's: closeHost leaves it
      this.moved.push(p.hostPath);
      this.refuse("roots.moved", p.hostPath, movedMessage(p.hostPath), 0);
      return null;
    }
    // Only a run that cannot write reads from the lower layer: what it opens there it can only read.
    return { hostPath: p.hostPath, writable: p.writable, fd, ...(held.lower && !p.writable ? { lower: new LowerView(this, held.lower) } : {}) };
  }

  /** Whether the location `rel` below `door` is (inside) a root that moved away from its path. */
  movedAt(door: RootDoor, rel: readonly string[]): string | null {
    if (this.moved.length === 0) return null;
    const abs = this.absolute(door, rel);
    return this.moved.find((m) => relativeUnder(m, abs) !== null) ?? null;
  }

  /** Opens a root; a root that is not a directory at exactly its canonical path is left out. */
  private openDoor(hostPath: string, writable: boolean): RootDoor | null {
    if (!hostPath.startsWith("/") || hostPath.includes("\0")) {
      this.refuse("sandbox.escape", hostPath, "a root must be an absolute canonical path", 0);
      return null;
    }
    let fd: number;
    try {
      fd = this.openHost(hostPath, DIR_OPEN);
    } catch {
      this.refuse("sandbox.escape", hostPath, "the root cannot be opened as a directory", 0);
      return null;
    }
    if (this.hostPathOf(fd) !== hostPath) {
      this.closeHost(fd);
      this.refuse("sandbox.escape", hostPath, "the root is not at its canonical path", 0);
      return null;
    }
    return { hostPath, writable, fd };
  }

  /** Opens a host path and tracks the descriptor; throws like `openSync` (EMFILE when over budget). */
  openHost(path: string, flags: number, mode = 0o666): number {
    const fd = openSync(path, flags, mode);
    if (!this.tracker.add(fd)) {
      closeSync(fd);
      throw Object.assign(new Error("too many open files in this run"), { code: "EMFILE" });
    }
    this.open.add(fd);
    return fd;
  }

  closeHost(fd: number): void {
    if (!this.open.delete(fd)) return;
    this.dirStat.forget(fd);
    this.tracker.remove(fd);
    try {
      closeSync(fd);
    } catch {
      // already gone; nothing to leak
    }
  }

  /** Closes every descriptor the run still holds (called once the module has returned). */
  closeAll(): void {
    this.dirStat.end();
    for (const fd of [...this.open]) this.closeHost(fd);
  }

  get openCount(): number {
    return this.open.size;
  }

  /** Records a refusal and returns `errno` so callers can `return ctx.refuse(...)`. */
  refuse(rule: string, path: string, reason: string, errno: number): number {
    if (this.denials.length < MAX_DENIALS && !this.denials.some((d) => d.rule === rule && d.path === path)) {
      this.denials.push({ rule, path, reason });
    }
    return errno;
  }

  /** The host path an open descriptor refers to now (kernel's view), or "" when unknown. */
  hostPathOf(fd: number): string {
    try {
      return readlinkSync(fdPath(fd));
    } catch {
      return "";
    }
  }

  /** Defense in depth: the descriptor really lies at or below the root it was reached from. */
  isUnder(fd: number, door: RootDoor): boolean {
    const actual = this.hostPathOf(fd);
    return actual !== "" && relativeUnder(door.hostPath, actual) !== null;
  }

  /** The host path of `rel` (physical components below `door`). */
  private absolute(door: RootDoor, rel: readonly string[]): string {
    if (rel.length === 0) return door.hostPath;
    return (door.hostPath === "/" ? "/" : door.hostPath + "/") + rel.join("/");
  }

  /**
   * The deny glob hiding the location `rel` below `door`, checked relative to every root that
   * contains it (nested roots cannot disagree). Only the full path is tested: the resolver has
   * already tested each prefix on its way down.
   */
  deniedAt(door: RootDoor, rel: readonly string[]): string | null {
    if (!this.hasDeny || rel.length === 0) return null;
    if (this.doors.length === 1) return this.deny.matchOne(rel.join("/"));
    const abs = this.absolute(door, rel);
    for (const d of this.doors) {
      const r = relativeUnder(d.hostPath, abs);
      if (r === null || r === "") continue;
      const hit = this.deny.matchOne(r);
      if (hit !== null) return hit;
    }
    return null;
  }

  /** The same check for every prefix of `rel` (used when a walk restarts from a root). */
  deniedPath(door: RootDoor, rel: readonly string[]): string | null {
    for (let i = 1; i <= rel.length; i++) {
      const hit = this.deniedAt(door, rel.slice(0, i));
      if (hit !== null) return hit;
    }
    return null;
  }

  /** Records the denial for a deny glob and returns EACCES. */
  refuseDenied(glob: string, path: string): number {
    return this.refuse(denyRuleName(glob), path, "hidden by a deny rule", wasi.ERRNO_ACCES);
  }

  /**
   * Whether `rel` below `door` may be written: the innermost root containing it decides, and
   * nothing inside a held read-only root is ever writable, wherever that root now lies (its
   * identity, not its path: `dirFd` is the open directory holding `rel`'s last component `name`,
   * or the location itself when `name` is empty).
   */
  writableAt(door: RootDoor, rel: readonly string[], dirFd?: number, name = ""): boolean {
    if (!door.writable) return false;
    if (this.doors.length > 1) {
      const abs = this.absolute(door, rel);
      let best: RootDoor = door;
      for (const d of this.doors) {
        if (d.hostPath.length > best.hostPath.length && relativeUnder(d.hostPath, abs) !== null) best = d;
      }
      if (!best.writable) return false;
    }
    if (this.readOnlyHeld.length === 0) return true;
    if (dirFd === undefined) return false; // cannot tell where it lies: fail closed
    const dir = this.hostPathOf(dirFd);
    if (dir === "") return false;
    const here = name === "" ? dir : dir === "/" ? `/${name}` : `${dir}/${name}`;
    return !this.readOnlyHeld.some((fd) => {
      const ro = this.hostPathOf(fd);
      return ro === "" || relativeUnder(ro, here) !== null;
    });
  }

  /** Refuses a write on a read-only root (EROFS) with its denial. */
  refuseReadOnly(path: string): number {
    return this.refuse("filesystem.read_only", path, "the root is read-only", wasi.ERRNO_ROFS);
  }

  /** fstat that reports errors as a WASI errno instead of throwing. */
  fstat(fd: number) {
    try {
      return { ret: 0, stat: fstatSync(fd, { bigint: true }) };
    } catch (err) {
      return { ret: errnoOf(err), stat: null };
    }
  }
}
