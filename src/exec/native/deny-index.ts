import { closeSync, constants, fstatSync, lstatSync, openSync, type BigIntStats } from "node:fs";
import { opendir } from "node:fs/promises";
import type { DenyRules } from "../../policy/path-rules.js";
import { ExecRefusal } from "../errors.js";

/** Rule of the refusal when a root itself cannot be read (a flood never refuses: see deny-masks.ts). */
export const DENY_SCAN_RULE = "execution.deny_scan_limit";

/**
 * A directory is opened beneath its parent's descriptor (`/proc/self/fd/N/name`), never by a path
 * through the root: a component swapped for a symlink between the parent's listing and this open
 * fails with ELOOP instead of leading the scan outside the root.
 */
const OPEN_DIR = constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW | constants.O_NONBLOCK;

/** Directories read at once: reads run on libuv's pool, so a little parallelism hides latency. */
const PARALLEL_READS = 8;
/** The scan holds the event loop for at most this long at a time (its opens and fstats are synchronous). */
const SLICE_MS = 8;
/** Deeper directories are hidden whole: each level holds one descriptor, and mask paths must stay mountable. */
const MAX_DEPTH = 128;
const MAX_REL_LENGTH = 3072;
/**
 * The clock tick of file timestamps is coarse (one jiffy, at most 10 ms): a change in the same tick
 * as a look leaves the ctime as it was. A directory is listed only once its ctime is this much in
 * the past, so any later change shows as a new ctime (otherwise the scan waits, then hides it).
 */
const TICK_NS = 10_000_000n;
/** Waits for a tick to pass, and listings torn by a change, before a directory is hidden as never holding still. */
const TICK_WAITS = 20;

/** Lists that stay empty are shared: most directories match nothing. */
const NONE: readonly string[] = Object.freeze([]);

/**
 * What one directory held when it was last read. Trusted while the directory's ctime (and inode)
 * are unchanged: adding, removing or renaming an entry updates the ctime, and no unprivileged call
 * can set it back (unlike the mtime, which `touch -d` forges).
 */
export interface DirRecord {
  dev: bigint;
  ino: bigint;
  /** ctime when read. */
  ctimeNs: bigint;
  /**
   * Changed too shortly before it was read (see ScanLimits.racyMs): a change in the same clock tick
   * keeps the ctime, so it is read again by the next scan. Meanwhile it is used like any record:
   * what it can miss was made in that tick, after the read, like a file made after a check.
   */
  racy: boolean;
  /** When a scan last found it unchanged, or read it (Date.now()). */
  checkedAt: number;
  /** Id of the latest scan that reached it: records no complete scan reaches any more are dropped. */
  seen: number;
  /** Directories in its subtree at the last complete scan (0: not known yet). */
  size: number;
  /** Subdirectories that do not match (walked next), smallest subtree last. Paths relative to the root. */
  subdirs: string[];
  files: readonly string[];
  dirs: readonly string[];
  symlinks: readonly string[];
  /** More matches (or subdirectories) than can be kept: the directory is hidden whole. */
  whole: boolean;
}

/** Everything known about one root for one set of deny globs, kept between commands. */
export interface RootIndex {
  /** Directory path relative to the root ("" is the root) -> its record. */
  readonly records: Map<string, DirRecord>;
  /** The root directory the records describe. */
  identity?: { dev: bigint; ino: bigint };
  /** Bumped when the root turns out to be another directory: scans of the old one stop writing. */
  epoch: number;
  /** Scans started so far (their ids). */
  scans: number;
}

export function createRootIndex(): RootIndex {
  return { records: new Map(), epoch: 0, scans: 0 };
}

export interface ScanLimits {
  /** Directories one scan indexes (the memory bound, policy execution.deny_scan_limit); the rest is hidden. */
  maxDirs: number;
  /** Matches kept per directory; a directory with more is hidden whole (bounded memory and mounts). */
  maxMatchesPerDir: number;
  /** A directory changed less than this long before it was read is read again next time. */
  racyMs: number;
}

/** A directory as the scan judged it: what it was (device, inode) and its ctime then. */
export interface DirId {
  dev: bigint;
  ino: bigint;
  ctimeNs: bigint;
}

/** What a command may rely on, as paths relative to the root. */
export interface Found {
  files: string[];
  dirs: string[];
  symlinks: string[];
  /** Directories to hide whole: not checked (in time, within the bounds) or unreadable ("" is the root). */
  hidden: string[];
  /**
   * Every directory on the way from the root to a mask (the root "" included), as the scan judged
   * it. The masks are right only for these very directories: the launcher binds them with these
   * identities, and the gate finds the ones holding masks unchanged (ctime), or nothing starts.
   */
  ids: Map<string, DirId>;
}

/** A directory the walk went through, and the one above it (to record the way to a mask). */
interface Chain {
  rel: string;
  id: DirId;
  up?: Chain;
}

/** Records the way to a mask: `chain` and every directory above it (stops at one already recorded). */
function markWay(ids: Map<string, DirId>, chain: Chain | undefined): void {
  for (let c = chain; c && !ids.has(c.rel); c = c.up) ids.set(c.rel, c.id);
}

const idOf = (r: { dev: bigint; ino: bigint; ctimeNs: bigint }): DirId => ({ dev: r.dev, ino: r.ino, ctimeNs: r.ctimeNs });

/** One walk of a root, started for a command and finished in the background. */
export interface DenyScan {
  readonly id: number;
  /** Date.now() at the start. */
  readonly startedAt: number;
  /**
   * Settles when every directory was checked, or the scan was stopped; rejects (ExecRefusal) only
   * when the root itself cannot be read.
   */
  readonly done: Promise<void>;
  readonly complete: boolean;
  /**
   * The masks a command may use now. Directories this scan checked give their matches; a directory
   * it has not reached yet gives what the index holds if some scan checked it at or after
   * `trustSince`, and is hidden whole otherwise (fail closed).
   */
  found(trustSince: number): Found;
  /** Stops walking and releases every descriptor (a newer scan or the backend took over). */
  stop(): void;
  readonly stats: { checked: number; read: number; entries: number };
}

interface Holder {
  fd: number;
  /** Children still to open beneath it. */
  refs: number;
}
interface Item {
  rel: string;
  depth: number;
  parent?: Holder;
  /** The directory above it, as judged (undefined for the root). */
  chain?: Chain;
}

/**
 * Walks `root` and records, per directory, what matches a deny glob (the same pure matcher as the
 * WASI sandbox, on paths relative to the root). Symlinks are never followed; a matching directory
 * is masked whole and not entered. A directory whose record is unchanged costs one open and one
 * fstat; only changed ones are read, streaming (one huge directory does not fill memory). Small
 * known subtrees are checked before large and new ones, so what a command's budget does not reach
 * is the flood, not the project.
 */
export function startScan(index: RootIndex, root: string, rules: DenyRules, limits: ScanLimits): DenyScan {
  // Records of directories that no complete scan confirmed gone (scans stopped early, one after
  // another, in a tree that keeps changing) are dropped here at the latest: memory stays bounded.
  if (index.records.size > 2 * limits.maxDirs) {
    index.records.clear();
    index.epoch++;
  }
  const id = ++index.scans;
  let epoch = index.epoch;
  const startedAt = Date.now();
  const out: Found = { files: [], dirs: [], symlinks: [], hidden: [], ids: new Map() };
  const stack: Item[] = [{ rel: "", depth: 0 }];
  /** Directories being read, by path. */
  const reading = new Map<string, Item>();
  const stats = { checked: 0, read: 0, entries: 0 };
  let stopped = false;
  let complete = false;
  let rootFailure: ExecRefusal | undefined;
  let compacted: Found | undefined;
  /** Directories not checked when the scan was stopped: hidden (or trusted) by found(), never dropped. */
  let abandoned: Item[] = [];
  let wake: (() => void) | undefined;
  const wakeUp = () => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  const mine = () => epoch === index.epoch;
  const release = (h: Holder | undefined) => {
    if (h && --h.refs === 0) closeSync(h.fd);
  };
  const nameOf = (rel: string) => rel.slice(rel.lastIndexOf("/") + 1);
  const push = (to: string[], from: readonly string[]) => {
    for (const p of from) to.push(p); // not push(...from): a spread of 200 000 arguments overflows the stack
  };

  /** Could not open or stat `rel`. Removed or replaced by a non-directory (a symlink: ELOOP): nothing below to hide. */
  const failed = (item: Item, err: unknown) => {
    const code = (err as NodeJS.ErrnoException).code;
    if (item.rel === "") {
      rootFailure ??= new ExecRefusal(DENY_SCAN_RULE, `cannot check ${root} against filesystem.deny (${code ?? String(err)})`);
      stopped = true;
    } else if (code !== "ENOENT" && code !== "ENOTDIR" && code !== "ELOOP") {
      hide(item); // EACCES, EIO...: it could hold a secret
    }
  };
  /**
   * Whether the directory above `item` changed since it was listed (checked right after `item` was
   * opened beneath it): the name may have led to another directory than the one listed. Then
   * `item` is hidden, which makes the directory above a holder of masks with its listed ctime,
   * and the gate refuses the command (the ctime differs): nothing runs on a torn view.
   */
  const tornAbove = (item: Item): boolean => {
    if (!item.parent || !item.chain) return false;
    try {
      if (fstatSync(item.parent.fd, { bigint: true }).ctimeNs === item.chain.id.ctimeNs) return false;
    } catch {
      // judged as changed
    }
    hide(item);
    return true;
  };
  /** Hides `item` whole: a mask, so the way to it is recorded. */
  const hide = (item: Item) => {
    out.hidden.push(item.rel);
    markWay(out.ids, item.chain);
  };

  /** Found unchanged at `now`. */
  const confirm = (rec: DirRecord, now: number) => {
    rec.checkedAt = Math.max(rec.checkedAt, now);
    rec.seen = Math.max(rec.seen, id);
  };
  /** Uses a record (found unchanged or just read): its matches, then its subdirectories beneath `fd`. */
  const take = (item: Item, rec: DirRecord, fd: number | undefined) => {
    if (rec.whole || (fd === undefined && rec.subdirs.length > 0)) {
      hide(item);
      if (fd !== undefined) closeSync(fd);
      return;
    }
    const chain: Chain = { rel: item.rel, id: idOf(rec), up: item.chain };
    push(out.files, rec.files);
    push(out.dirs, rec.dirs);
    push(out.symlinks, rec.symlinks);
    if (rec.files.length > 0 || rec.dirs.length > 0) markWay(out.ids, chain);
    if (fd === undefined || rec.subdirs.length === 0) {
      if (fd !== undefined) closeSync(fd);
      return;
    }
    const holder: Holder = { fd, refs: rec.subdirs.length };
    // Popped last-in first-out: the smallest known subtree (at the end of subdirs) is checked first.
    for (const rel of rec.subdirs) stack.push({ rel, depth: item.depth + 1, parent: holder, chain });
  };

  const read = async (rel: string, fd: number, st: BigIntStats, checkedAt: number): Promise<DirRecord> => {
    stats.read++;
    const rec: DirRecord = { dev: st.dev, ino: st.ino, ctimeNs: st.ctimeNs, racy: false, checkedAt, seen: id, size: 0, subdirs: [], files: NONE, dirs: NONE, symlinks: NONE, whole: false };
    const files: string[] = [];
    const dirs: string[] = [];
    const symlinks: string[] = [];
    // Through the held descriptor: the directory that was opened and checked, wherever it is now.
    const dir = await opendir(`/proc/self/fd/${fd}`, { bufferSize: 512 });
    for await (const e of dir) {
      if (stopped) break;
      stats.entries++;
      const child = rel === "" ? e.name : `${rel}/${e.name}`;
      if (rules.matchOne(child) !== null) {
        if (e.isSymbolicLink()) {
          if (symlinks.length < limits.maxMatchesPerDir) symlinks.push(child); // never mounted: only reported
        } else if (files.length + dirs.length >= limits.maxMatchesPerDir) {
          rec.whole = true;
          break;
        } else (e.isDirectory() ? dirs : files).push(child);
      } else if (e.isDirectory()) {
        if (rec.subdirs.length >= limits.maxDirs) {
          rec.whole = true;
          break;
        }
        rec.subdirs.push(child);
      }
    }
    if (files.length) rec.files = files;
    if (dirs.length) rec.dirs = dirs;
    if (symlinks.length) rec.symlinks = symlinks;
    // Changed just before it was read: a change in the same clock tick would go unseen. Read it again next time.
    rec.racy = BigInt(Date.now()) * 1_000_000n - st.ctimeNs <= BigInt(limits.racyMs) * 1_000_000n;
    return rec;
  };

  /**
   * Lists a directory once its ctime is a clock tick old, and keeps the listing only when the ctime
   * is still the same after it (no entry added, removed or renamed while it was read: a torn
   * listing can miss a secret moved from one place to another). Tries again a few times; undefined
   * when the directory never holds still (then it is hidden).
   */
  const readSettled = async (rel: string, fd: number, st: BigIntStats, now: number): Promise<DirRecord | undefined> => {
    for (let attempt = 0; attempt < TICK_WAITS && !stopped; attempt++) {
      const settled = await untilPastTick(fd, st);
      if (!settled) return undefined;
      const rec = await read(rel, fd, settled, now);
      st = fstatSync(fd, { bigint: true });
      if (st.ctimeNs === rec.ctimeNs) return rec;
    }
    return undefined;
  };

  /** Checks one directory: synchronous open and fstat; a changed one is read in the background. */
  const step = (item: Item) => {
    if (stats.checked >= limits.maxDirs || item.depth > MAX_DEPTH || item.rel.length > MAX_REL_LENGTH) {
      hide(item);
      release(item.parent);
      return;
    }
    const old = index.records.get(item.rel);
    const path = item.parent ? `/proc/self/fd/${item.parent.fd}/${nameOf(item.rel)}` : root;
    // A directory without subdirectories needs no descriptor of its own: one lstat beneath its
    // parent's (the last component is not followed) tells whether it changed.
    if (old && item.parent && mine() && old.subdirs.length === 0 && !old.whole && !old.racy) {
      let st: BigIntStats | undefined;
      try {
        st = lstatSync(path, { bigint: true, throwIfNoEntry: false });
      } catch {
        // judged below, through open
      }
      if (st && old.ctimeNs === st.ctimeNs && old.ino === st.ino && old.dev === st.dev) {
        if (tornAbove(item)) return release(item.parent);
        release(item.parent);
        stats.checked++;
        confirm(old, Date.now());
        take(item, old, undefined);
        return;
      }
    }
    let fd: number;
    try {
      fd = openSync(path, OPEN_DIR);
    } catch (err) {
      if (!tornAbove(item)) failed(item, err);
      release(item.parent);
      return;
    }
    if (tornAbove(item)) {
      closeSync(fd);
      return release(item.parent);
    }
    release(item.parent);
    let st: BigIntStats;
    try {
      st = fstatSync(fd, { bigint: true });
    } catch (err) {
      closeSync(fd);
      failed(item, err);
      return;
    }
    stats.checked++;
    if (item.rel === "") {
      // Another directory at the root's path (moved, replaced): nothing recorded about the old one applies.
      if (index.identity && (index.identity.dev !== st.dev || index.identity.ino !== st.ino) && mine()) {
        index.records.clear();
        index.epoch++;
      }
      epoch = index.epoch;
      index.identity = { dev: st.dev, ino: st.ino };
    }
    const now = Date.now();
    const same = old !== undefined && old.ctimeNs === st.ctimeNs && old.ino === st.ino && old.dev === st.dev && mine();
    if (same) confirm(old, now); // the same instant as a new record's: the re-read of a racy one replaces it
    if (same && !old.racy) {
      take(item, old, fd);
      return;
    }
    // Changed: no command may rely on the old record any more (a racy one stays usable while read again).
    if (old && !same && mine()) index.records.delete(item.rel);
    reading.set(item.rel, item);
    readSettled(item.rel, fd, st, now)
      .then(
        (rec) => {
          if (stopped) return closeSync(fd);
          // It kept changing: no listing of it can be relied on, so it is hidden.
          if (!rec) {
            closeSync(fd);
            if (mine()) index.records.delete(item.rel);
            return hide(item);
          }
          if (mine()) {
            const cur = index.records.get(item.rel);
            if (!cur || cur.checkedAt <= rec.checkedAt) index.records.set(item.rel, rec);
          }
          take(item, rec, fd);
        },
        (err: unknown) => {
          closeSync(fd);
          failed(item, err);
        },
      )
      .finally(() => {
        reading.delete(item.rel);
        wakeUp();
      });
  };

  /** After a complete scan: drop what no longer exists, note subtree sizes, order subdirectories by them. */
  const settle = () => {
    const records = index.records;
    for (const [rel, r] of records) if (r.seen < id) records.delete(rel);
    const order: DirRecord[] = [];
    const todo = [""];
    while (todo.length > 0) {
      const r = records.get(todo.pop()!);
      if (!r || r.whole) continue;
      order.push(r);
      push(todo, r.subdirs);
    }
    const sizeOf = (rel: string) => records.get(rel)?.size ?? 0;
    for (let i = order.length - 1; i >= 0; i--) {
      const r = order[i]!;
      let size = 1;
      for (const c of r.subdirs) size += sizeOf(c);
      r.size = size;
      if (r.subdirs.length > 1 && r.subdirs.length <= 4096) r.subdirs.sort((a, b) => sizeOf(b) - sizeOf(a));
    }
  };

  const walk = async () => {
    let slice = performance.now();
    while (!stopped) {
      const item = stack.pop();
      if (item) step(item);
      else if (reading.size === 0) break;
      if (!item || reading.size >= PARALLEL_READS) await new Promise<void>((r) => (wake = r));
      if (performance.now() - slice > SLICE_MS) {
        await new Promise((r) => setImmediate(r));
        slice = performance.now();
      }
    }
    if (rootFailure) throw rootFailure;
    if (stopped) return;
    complete = true;
    if (mine()) settle();
  };

  const scan: DenyScan = {
    id,
    startedAt,
    done: walk(),
    get complete() {
      return complete;
    },
    stats,
    stop() {
      if (stopped) return;
      stopped = true;
      abandoned = [...stack, ...reading.values()];
      for (const item of stack) release(item.parent);
      stack.length = 0;
      wakeUp();
    },
    found(trustSince) {
      if (complete) return (compacted ??= compact(out, limits.maxMatchesPerDir));
      const f: Found = { files: [...out.files], dirs: [...out.dirs], symlinks: [...out.symlinks], hidden: [...out.hidden], ids: new Map(out.ids) };
      // Not reached yet (or being read): what a recent enough check recorded, else hidden whole.
      const todo: Item[] = [...stack, ...reading.values(), ...abandoned];
      let budget = limits.maxDirs;
      while (todo.length > 0) {
        const item = todo.pop()!;
        const r = index.records.get(item.rel); // one being read because it changed has none
        if (!r || r.whole || r.checkedAt < trustSince || !mine() || budget-- <= 0) {
          f.hidden.push(item.rel);
          markWay(f.ids, item.chain);
          continue;
        }
        const chain: Chain = { rel: item.rel, id: idOf(r), up: item.chain };
        push(f.files, r.files);
        push(f.dirs, r.dirs);
        push(f.symlinks, r.symlinks);
        if (r.files.length > 0 || r.dirs.length > 0) markWay(f.ids, chain);
        for (const rel of r.subdirs) todo.push({ rel, depth: item.depth + 1, chain });
      }
      return compact(f, limits.maxMatchesPerDir);
    },
  };
  // Nobody may be waiting any more when a scan finishes in the background.
  scan.done.catch(() => undefined);
  return scan;
}

/**
 * `st` once its ctime is at least a clock tick old (waiting a tick at a time, a few times): then
 * every change after the listing shows as a new ctime. Undefined when the directory keeps changing.
 */
async function untilPastTick(fd: number, st: BigIntStats): Promise<BigIntStats | undefined> {
  for (let i = 0; ; i++) {
    if (BigInt(Date.now()) * 1_000_000n - st.ctimeNs >= TICK_NS) return st;
    if (i === TICK_WAITS) return undefined;
    await new Promise((r) => setTimeout(r, Number(TICK_NS / 1_000_000n)));
    st = fstatSync(fd, { bigint: true });
  }
}

/**
 * A directory with more hidden subdirectories than `max` is hidden itself instead (what a budget
 * does not reach in a flood is usually one directory's many children): a short list, cheap to
 * merge and mount. Fail closed: it hides more, never less.
 */
function compact(f: Found, max: number): Found {
  if (f.hidden.length <= max) return f;
  const parentOf = (rel: string) => rel.slice(0, Math.max(0, rel.lastIndexOf("/")));
  const counts = new Map<string, number>();
  for (const h of f.hidden) if (h !== "") counts.set(parentOf(h), (counts.get(parentOf(h)) ?? 0) + 1);
  const crowded = new Set<string>();
  for (const [p, n] of counts) if (n > max) crowded.add(p);
  if (crowded.size === 0) return f;
  return { ...f, hidden: [...f.hidden.filter((h) => h === "" || !crowded.has(parentOf(h))), ...crowded] };
}
