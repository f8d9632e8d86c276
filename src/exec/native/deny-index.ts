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

/** What a command may rely on, as paths relative to the root. */
export interface Found {
  files: string[];
  dirs: string[];
  symlinks: string[];
  /** Directories to hide whole: not checked (in time, within the bounds) or unreadable ("" is the root). */
  hidden: string[];
}

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
  const out: Found = { files: [], dirs: [], symlinks: [], hidden: [] };
  const stack: Item[] = [{ rel: "", depth: 0 }];
  const reading = new Set<string>();
  const stats = { checked: 0, read: 0, entries: 0 };
  let stopped = false;
  let complete = false;
  let rootFailure: ExecRefusal | undefined;
  let compacted: Found | undefined;
  /** Directories not checked when the scan was stopped: hidden (or trusted) by found(), never dropped. */
  let abandoned: string[] = [];
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
      out.hidden.push(item.rel); // EACCES, EIO...: it could hold a secret
    }
  };

  /** Found unchanged at `now`. */
  const confirm = (rec: DirRecord, now: number) => {
    rec.checkedAt = Math.max(rec.checkedAt, now);
    rec.seen = Math.max(rec.seen, id);
  };
  /** Uses a record (found unchanged or just read): its matches, then its subdirectories beneath `fd`. */
  const take = (item: Item, rec: DirRecord, fd: number | undefined) => {
    if (rec.whole || (fd === undefined && rec.subdirs.length > 0)) {
      out.hidden.push(item.rel);
      if (fd !== undefined) closeSync(fd);
      return;
    }
    push(out.files, rec.files);
    push(out.dirs, rec.dirs);
    push(out.symlinks, rec.symlinks);
    if (fd === undefined || rec.subdirs.length === 0) {
      if (fd !== undefined) closeSync(fd);
      return;
    }
    const holder: Holder = { fd, refs: rec.subdirs.length };
    // Popped last-in first-out: the smallest known subtree (at the end of subdirs) is checked first.
    for (const rel of rec.subdirs) stack.push({ rel, depth: item.depth + 1, parent: holder });
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

  /** Checks one directory: synchronous open and fstat; a changed one is read in the background. */
  const step = (item: Item) => {
    if (stats.checked >= limits.maxDirs || item.depth > MAX_DEPTH || item.rel.length > MAX_REL_LENGTH) {
      out.hidden.push(item.rel);
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
      release(item.parent);
      failed(item, err);
      return;
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
    reading.add(item.rel);
    read(item.rel, fd, st, now)
      .then(
        (rec) => {
          if (stopped) return closeSync(fd);
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
      abandoned = [...stack.map((i) => i.rel), ...reading];
      for (const item of stack) release(item.parent);
      stack.length = 0;
      wakeUp();
    },
    found(trustSince) {
      if (complete) return (compacted ??= compact(out, limits.maxMatchesPerDir));
      const f: Found = { files: [...out.files], dirs: [...out.dirs], symlinks: [...out.symlinks], hidden: [...out.hidden] };
      // Not reached yet (or being read): what a recent enough check recorded, else hidden whole.
      const todo = stack.map((i) => i.rel);
      push(todo, [...reading]);
      push(todo, abandoned);
      let budget = limits.maxDirs;
      while (todo.length > 0) {
        const rel = todo.pop()!;
        const r = index.records.get(rel); // one being read because it changed has none
        if (!r || r.whole || r.checkedAt < trustSince || !mine() || budget-- <= 0) {
          f.hidden.push(rel);
          continue;
        }
        push(f.files, r.files);
        push(f.dirs, r.dirs);
        push(f.symlinks, r.symlinks);
        push(todo, r.subdirs);
      }
      return compact(f, limits.maxMatchesPerDir);
    },
  };
  // Nobody may be waiting any more when a scan finishes in the background.
  scan.done.catch(() => undefined);
  return scan;
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
