import { chmodSync, lstatSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { readdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { compileDenyRules, type DenyRules } from "../../policy/path-rules.js";
import { ExecRefusal } from "../errors.js";

/**
 * What bubblewrap must hide inside the roots so that a command sees no more than the file tools do
 * (policy `filesystem.deny`). Absolute host paths.
 */
export interface DenyMasks {
  /** Matching regular files, FIFOs, sockets, devices: covered by an empty read-only file. */
  files: string[];
  /** Matching directories: covered by an empty read-only tmpfs (nothing below is walked). */
  dirs: string[];
  /**
   * Directories between a root and a mask: bound onto themselves so they become mount points that
   * cannot be renamed. Without this, `mv .aws x` inside the sandbox succeeds on the host and
   * `x/credentials` no longer matches `**\/.aws/credentials` for the next command.
   */
  pins: string[];
  /**
   * Matching symlinks: NOT covered. A bind mount follows the link onto its target (hiding an
   * innocent file, or failing the whole command when the target is missing), and the link shows
   * nothing the sandbox does not already show under the target's own path, which is judged (and
   * masked) by its own name.
   */
  symlinks: string[];
}

export interface DenyScanBounds {
  /** Entries (files, directories, links) read per root before refusing; policy execution.deny_scan_limit. */
  maxEntries: number;
  /** Wall time per root before refusing. */
  maxMs: number;
}

export const EMPTY_MASKS: DenyMasks = { files: [], dirs: [], pins: [], symlinks: [] };

/** Rule of the refusal when a root is too large (or too slow) to scan. */
export const DENY_SCAN_RULE = "execution.deny_scan_limit";

/** Directories read at once: readdir runs on libuv's pool, so a little parallelism hides latency. */
const PARALLEL_READDIRS = 8;

/**
 * What one directory held when it was last read, kept between scans. It is reused only while the
 * directory's ctime (and inode) are unchanged: adding, removing or renaming an entry updates the
 * ctime, and no unprivileged call can set it back (unlike the mtime, which `touch -d` forges).
 */
interface DirMemo {
  dev: bigint;
  ino: bigint;
  ctimeNs: bigint;
  entries: number;
  /** Non-matching subdirectories, walked next. */
  subdirs: string[];
  files: string[];
  dirs: string[];
  symlinks: string[];
}

/** Directory path (relative to its root) -> what it held. */
export type DenyScanMemo = Map<string, DirMemo>;

/**
 * A directory changed less than this long before it was read is read again next time: file
 * timestamps come from a coarse clock, so a change in the same tick would keep the same ctime.
 */
const RACY_MS = 1000;

/**
 * Walks one root and returns what matches a deny glob, with the same pure matcher as the WASI
 * sandbox (src/policy/path-rules.ts) on paths relative to the root. Symlinks are never followed;
 * a matching directory is masked whole and not entered. Every entry is either judged or the scan
 * fails: an unreadable directory, too many entries or too much time throw ExecRefusal (fail closed).
 * With the memo of a previous scan, a directory whose ctime did not change is not read again (one
 * lstat instead of a readdir and a match per entry); the returned memo serves the next scan.
 */
export async function scanDenyMasks(
  root: string,
  rules: DenyRules,
  bounds: DenyScanBounds,
  previous: DenyScanMemo = new Map(),
  racyMs = RACY_MS,
): Promise<DenyMasks & { entries: number; read: number; memo: DenyScanMemo }> {
  const started = performance.now();
  const out: DenyMasks = { files: [], dirs: [], pins: [], symlinks: [] };
  const memo: DenyScanMemo = new Map();
  const abs = (rel: string) => (rel === "" ? root : root === "/" ? `/${rel}` : `${root}/${rel}`);
  let entries = 0;
  let read = 0;
  const queue: string[] = [""];
  let failure: ExecRefusal | undefined;

  const tooSlow = () => new ExecRefusal(DENY_SCAN_RULE, `checking ${root} against filesystem.deny took more than ${bounds.maxMs} ms; choose a smaller root`);
  const check = () => {
    if (entries > bounds.maxEntries)
      failure ??= new ExecRefusal(DENY_SCAN_RULE, `more than ${bounds.maxEntries} entries under ${root}: too many to check against filesystem.deny before the command starts; raise execution.deny_scan_limit or choose a smaller root`);
    else if (performance.now() - started > bounds.maxMs) failure ??= tooSlow();
  };
  const failOn = (rel: string, err: unknown) => {
    // Removed (or replaced) since its parent was read: nothing left below it to hide. Anything
    // else (EACCES, EIO...) could hide a secret: refuse.
    const code = (err as NodeJS.ErrnoException).code;
    if ((code === "ENOENT" || code === "ENOTDIR") && rel !== "") return;
    failure ??= new ExecRefusal(DENY_SCAN_RULE, `cannot check ${abs(rel)} against filesystem.deny (${code ?? String(err)})`);
  };
  /** The directory as it is now: its memo when unchanged, else read (ctime taken before reading). */
  const visit = async (rel: string): Promise<DirMemo | undefined> => {
    // Synchronous: a few microseconds, where a promise round trip through the thread pool costs ten times that.
    const st = lstatSync(abs(rel), { bigint: true });
    if (!st.isDirectory()) return undefined; // replaced since its parent was read; its name did not match
    const old = previous.get(rel);
    if (old && old.ctimeNs === st.ctimeNs && old.ino === st.ino && old.dev === st.dev) return old;
    const list = await readdir(abs(rel), { withFileTypes: true });
    read++;
    const m: DirMemo = { dev: st.dev, ino: st.ino, ctimeNs: st.ctimeNs, entries: list.length, subdirs: [], files: [], dirs: [], symlinks: [] };
    for (const e of list) {
      const child = rel === "" ? e.name : `${rel}/${e.name}`;
      if (rules.matchOne(child) !== null) (e.isSymbolicLink() ? m.symlinks : e.isDirectory() ? m.dirs : m.files).push(child);
      else if (e.isDirectory()) m.subdirs.push(child);
    }
    // Changed just before it was read: a change in the same clock tick would go unseen. Read it again next time.
    if (BigInt(Date.now()) * 1_000_000n - st.ctimeNs <= BigInt(racyMs) * 1_000_000n) m.ctimeNs = -1n;
    return m;
  };
  const take = (rel: string, m: DirMemo | undefined) => {
    if (!m) return;
    memo.set(rel, m);
    entries += m.entries;
    // Not push(...list): spreading a directory of 150,000 names overflows the stack.
    append(out.files, m.files);
    append(out.dirs, m.dirs);
    append(out.symlinks, m.symlinks);
    append(queue, m.subdirs);
  };

  await new Promise<void>((resolve) => {
    // A directory that never answers (a hung network filesystem) must not hold the command forever.
    const timer = setTimeout(() => {
      failure ??= tooSlow();
      resolve();
    }, Math.max(0, bounds.maxMs));
    let active = 0;
    const pump = () => {
      while (failure === undefined && active < PARALLEL_READDIRS && queue.length > 0) {
        const rel = queue.pop()!;
        active++;
        // Whatever throws, reading or taking, fails this scan (never an unhandled rejection).
        visit(rel)
          .then((m) => take(rel, m))
          .catch((err: unknown) => failOn(rel, err))
          .finally(() => {
            active--;
            check();
            pump();
          });
      }
      if (active === 0) {
        clearTimeout(timer);
        resolve();
      }
    };
    pump();
  });
  if (failure) throw failure;
  // Directories between the root and each mask: pinned so they cannot be renamed (see DenyMasks.pins).
  const pins = new Set<string>();
  for (const rel of [...out.files, ...out.dirs]) {
    const parts = rel.split("/");
    for (let i = 1; i < parts.length; i++) pins.add(parts.slice(0, i).join("/"));
  }
  const toAbs = (list: Iterable<string>) => [...list].map(abs);
  return { files: toAbs(out.files), dirs: toAbs(out.dirs), pins: toAbs(pins), symlinks: toAbs(out.symlinks), entries, read, memo };
}

function append<T>(to: T[], from: readonly T[]): void {
  for (const x of from) to.push(x);
}

export interface DenyMaskCacheOptions {
  /** Wall time bound of one root's scan. Default 10 000 ms. */
  maxMs?: number;
  /** See RACY_MS (tests). */
  racyMs?: number;
}

/**
 * Scans every root before every command, cheaply: each root's last walk is kept (DenyScanMemo) and
 * only directories whose ctime changed are read again. Concurrent commands share a walk in flight,
 * unless a command ended since it started (it may have written). One cache per backend instance.
 */
export function createDenyMaskCache(options: DenyMaskCacheOptions = {}) {
  const maxMs = options.maxMs ?? 10_000;
  const memos = new Map<string, DenyScanMemo>();
  const inflight = new Map<string, { generation: number; scan: Promise<DenyMasks> }>();
  const compiled = new Map<string, DenyRules>();
  let generation = 0;

  function rulesFor(globs: readonly string[]): DenyRules {
    const key = JSON.stringify(globs);
    let rules = compiled.get(key);
    if (!rules) compiled.set(key, (rules = compileDenyRules(globs)));
    return rules;
  }

  function scanRoot(root: string, globs: readonly string[], maxEntries: number): Promise<DenyMasks> {
    const key = `${root}\0${JSON.stringify(globs)}`;
    const running = inflight.get(key);
    if (running && running.generation === generation) return running.scan;
    const scan = scanDenyMasks(root, rulesFor(globs), { maxEntries, maxMs }, memos.get(key), options.racyMs).then(
      (r) => {
        memos.delete(key); // re-inserted last: the map keeps the most recently used roots
        memos.set(key, r.memo);
        if (memos.size > 32) memos.delete(memos.keys().next().value!);
        return r;
      },
      (err: unknown) => {
        memos.delete(key);
        throw err;
      },
    );
    const entry = { generation, scan };
    inflight.set(key, entry);
    const forget = () => {
      if (inflight.get(key) === entry) inflight.delete(key);
    };
    scan.then(forget, forget);
    return scan;
  }

  return {
    /** Masks for every root (deduplicated, those under a masked directory dropped); throws ExecRefusal. */
    async masksFor(roots: readonly { path: string }[], globs: readonly string[], maxEntries: number): Promise<DenyMasks> {
      if (globs.length === 0 || roots.length === 0) return EMPTY_MASKS;
      return mergeMasks(await Promise.all(roots.map((r) => scanRoot(r.path, globs, maxEntries))));
    },
    /** A command ended: a walk already under way may have missed what it wrote. */
    invalidate() {
      generation++;
    },
  };
}

/**
 * One mask set for nested or repeated roots: the union (fail closed: a path hidden relative to
 * either root stays hidden), without duplicates, and without masks inside a masked directory (its
 * tmpfs is read-only: bubblewrap could not create their mount points).
 */
export function mergeMasks(sets: readonly DenyMasks[]): DenyMasks {
  const dirs = [...new Set(sets.flatMap((s) => s.dirs))].sort();
  const underDir = (p: string) => dirs.some((d) => p.startsWith(d + "/"));
  const keep = (list: string[]) => [...new Set(list)].filter((p) => !underDir(p));
  return {
    dirs: keep(dirs),
    files: keep(sets.flatMap((s) => s.files)),
    pins: keep(sets.flatMap((s) => s.pins)).filter((p) => !dirs.includes(p)),
    symlinks: [...new Set(sets.flatMap((s) => s.symlinks))],
  };
}

/**
 * The empty read-only file bound over masked files: reading gives nothing (as an empty file, not an
 * error that would make `grep -r` fail on every masked file), writing fails with EROFS. It lives
 * in a private directory; checked before each use and recreated if it went missing or changed.
 */
export function createEmptyMaskFile(): { path(): string; dispose(): void } {
  let dir: string | undefined;
  let file: string | undefined;
  return {
    path() {
      try {
        const st = lstatSync(file ?? "");
        if (st.isFile() && st.size === 0 && (st.mode & 0o222) === 0) return file!;
      } catch {
        // not made yet, or removed (a /tmp cleaner)
      }
      if (dir) rmSync(dir, { recursive: true, force: true });
      dir = mkdtempSync(join(tmpdir(), "warden-mask-"));
      file = join(dir, "empty");
      writeFileSync(file, "", { mode: 0o444 });
      chmodSync(file, 0o444);
      return file;
    },
    dispose() {
      if (dir) rmSync(dir, { recursive: true, force: true });
      dir = file = undefined;
    },
  };
}
