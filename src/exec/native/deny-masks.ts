import { compileDenyRules, type DenyRules } from "../../policy/path-rules.js";
import { createRootIndex, startScan, type DenyScan, type DirId, type Found, type RootIndex } from "./deny-index.js";
import { liftUnscanned } from "./lift-masks.js";
import { boundMasks, MAX_MASK_MOUNTS } from "./mask-bound.js";

export { DENY_SCAN_RULE } from "./deny-index.js";

/**
 * What bubblewrap must hide inside the roots so that a command sees no more than the file tools do
 * (policy `filesystem.deny`). Absolute host paths.
 */
export interface DenyMasks {
  /** Matching regular files, FIFOs, sockets, devices: covered by an empty read-only file. */
  files: string[];
  /**
   * Directories covered by an empty read-only directory (nothing below is walked): matching ones, and
   * every directory of `unscanned`.
   */
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
  /**
   * Directories hidden whole although their name matches nothing, because their content was not
   * checked before the command: not reached within the time budget (and no check recent enough),
   * beyond the index bound, unreadable, or holding more masks than can be mounted one by one. Every
   * one is ALSO in `dirs` and is mounted exactly like the other `dirs` (the empty directory, bound
   * read-only, after every bind); nothing extra to mount. Listed apart to say why content is
   * missing; it shows again once the index catches up. A root itself can be listed (see boundMasks).
   */
  unscanned?: string[];
  /**
   * Every directory from a root down to a mask, as the scan judged it (absolute paths). The masks
   * are right for these directories only: open-binds.ts binds the pins with these identities and
   * the gate finds the directories holding masks unchanged, or the command does not start.
   */
  ids?: Map<string, DirId>;
}

export const EMPTY_MASKS: DenyMasks = { files: [], dirs: [], pins: [], symlinks: [], unscanned: [] };

/** Per request: policy execution.deny_scan_limit and execution.deny_scan_budget_ms. */
export interface DenyScanBounds {
  /** Directories per root kept in the index (memory); beyond it, the rest is hidden. */
  maxDirs: number;
  /** How long a command waits for the check before it starts with what is not checked hidden. */
  budgetMs?: number;
  /** Times liftUnscanned is applied (a command prepared again after its gate found a holder changed). */
  lift?: number;
}

export interface DenyMaskCacheOptions {
  /** Default of DenyScanBounds.budgetMs. Default 500 ms. */
  budgetMs?: number;
  /**
   * A directory a command's own check did not reach in its budget is shown as the index holds it
   * when some check found it unchanged (or read it) at most this long before; otherwise it is
   * hidden. Default 10 000 ms: no later than the old full walk, which could take 10 s before a
   * command started.
   */
  trustMs?: number;
  /** See ScanLimits.racyMs (tests). Default 1000 ms. */
  racyMs?: number;
  /** See MAX_MASK_MOUNTS (tests). */
  maxMounts?: number;
}

/** Roots whose index is kept (the most recently used). */
const MAX_ROOTS = 32;
/** Scans of one root at once: a newer one stops the oldest. */
const MAX_SCANS_PER_ROOT = 2;

interface RootState {
  index: RootIndex;
  scans: { scan: DenyScan; generation: number; maxDirs: number }[];
}

/**
 * The deny masks for each command, within a time budget and without a lock-out. Each root keeps an
 * index (deny-index.ts) of what every directory held, checked again before each command: an
 * unchanged directory costs one open and fstat, never a read of its entries, so the cost grows with
 * the directories, never with the files. A check that does not finish within the budget goes on in
 * the background for the next command, and this command starts at once with every directory not
 * checked recently enough hidden whole (fail closed: hidden, not lost). Concurrent commands share
 * a check under way unless a command ended since it started (it may have written). One cache per
 * backend instance.
 */
export function createDenyMaskCache(options: DenyMaskCacheOptions = {}) {
  const defaultBudgetMs = options.budgetMs ?? 500;
  const trustMs = options.trustMs ?? 10_000;
  const racyMs = options.racyMs ?? 1000;
  const maxMounts = options.maxMounts ?? MAX_MASK_MOUNTS;
  const roots = new Map<string, RootState>();
  const compiled = new Map<string, DenyRules>();
  let generation = 0;
  let closed = false;

  function rulesFor(globs: readonly string[]): DenyRules {
    const key = JSON.stringify(globs);
    let rules = compiled.get(key);
    if (!rules) compiled.set(key, (rules = compileDenyRules(globs)));
    return rules;
  }

  function scanFor(root: string, globs: readonly string[], maxDirs: number): DenyScan {
    const key = `${root}\0${JSON.stringify(globs)}`;
    let state = roots.get(key);
    if (state) roots.delete(key); // re-inserted last: the map keeps the most recently used roots
    state ??= { index: createRootIndex(), scans: [] };
    roots.set(key, state);
    if (roots.size > MAX_ROOTS) {
      const [oldKey, old] = roots.entries().next().value!;
      for (const s of old.scans) s.scan.stop();
      roots.delete(oldKey);
    }
    const running = state.scans.find((s) => s.generation === generation && s.maxDirs === maxDirs);
    if (running) return running.scan;
    if (state.scans.length >= MAX_SCANS_PER_ROOT) state.scans.shift()!.scan.stop();
    const scan = startScan(state.index, root, rulesFor(globs), { maxDirs, maxMatchesPerDir: maxMounts, racyMs });
    const entry = { scan, generation, maxDirs };
    const s = state;
    s.scans.push(entry);
    const forget = () => {
      const i = s.scans.indexOf(entry);
      if (i >= 0) s.scans.splice(i, 1);
    };
    scan.done.then(forget, forget);
    return scan;
  }

  return {
    /**
     * Masks for every root (deduplicated, those under a hidden directory dropped, at most
     * MAX_MASK_MOUNTS mounts). Waits at most the budget; throws ExecRefusal only when a root itself
     * cannot be read.
     */
    async masksFor(roots: readonly { path: string; held?: { via?: string } }[], globs: readonly string[], bounds: DenyScanBounds | number): Promise<DenyMasks> {
      if (globs.length === 0 || roots.length === 0) return EMPTY_MASKS;
      if (closed) throw new Error("deny mask cache closed");
      const b = typeof bounds === "number" ? { maxDirs: bounds } : bounds;
      const budgetMs = b.budgetMs ?? defaultBudgetMs;
      // A root held in a copy-on-write workspace's view (serve --overlay) is scanned there, where commands see it.
      const scans = roots.map((r) => scanFor(`${r.held?.via ?? ""}${r.path}`, globs, b.maxDirs));
      let timer: NodeJS.Timeout | undefined;
      try {
        await Promise.race([Promise.all(scans.map((s) => s.done)), new Promise((r) => (timer = setTimeout(r, Math.max(0, budgetMs))))]);
      } finally {
        clearTimeout(timer);
      }
      const trustSince = Date.now() - trustMs;
      const sets = scans.map((s, i) => absolute(roots[i]!.path, s.found(trustSince)));
      const paths = roots.map((r) => r.path);
      let merged = mergeMasks(sets);
      for (let i = 0; i < (b.lift ?? 0); i++) merged = liftUnscanned(merged, paths);
      return boundMasks(merged, paths, maxMounts);
    },
    /**
     * Starts checking `roots` now, before any command asks (the server calls it at start): the first
     * command then finds its check done or under way instead of starting with its roots unchecked,
     * hence hidden. Nothing waits for it; a root that cannot be read is refused by the command's own check.
     */
    warm(roots: readonly { path: string; held?: { via?: string } }[], globs: readonly string[], maxDirs: number): void {
      if (closed || globs.length === 0) return;
      for (const r of roots) scanFor(`${r.held?.via ?? ""}${r.path}`, globs, maxDirs).done.catch(() => undefined);
    },
    /** A command ended: a check already under way may have missed what it wrote. */
    invalidate() {
      generation++;
    },
    /** Resolves when no check is under way any more (tests, benchmarks). */
    async settled(): Promise<void> {
      for (;;) {
        const pending = [...roots.values()].flatMap((s) => s.scans.map((e) => e.scan.done));
        if (pending.length === 0) return;
        await Promise.allSettled(pending);
      }
    },
    /** Stops every check and releases its descriptors. */
    close() {
      closed = true;
      for (const s of roots.values()) for (const e of s.scans) e.scan.stop();
      roots.clear();
    },
  };
}

export type DenyMaskCache = ReturnType<typeof createDenyMaskCache>;

/** Root-relative results as absolute host paths ("" is the root itself). */
function absolute(root: string, f: Found): DenyMasks {
  const abs = (rel: string) => (rel === "" ? root : root === "/" ? `/${rel}` : `${root}/${rel}`);
  const hidden = f.hidden.map(abs);
  const ids = new Map([...f.ids].map(([rel, id]) => [abs(rel), id]));
  return { files: f.files.map(abs), dirs: [...f.dirs.map(abs), ...hidden], pins: [], symlinks: f.symlinks.map(abs), unscanned: hidden, ids };
}

/**
 * One mask set for nested or repeated roots: the union (fail closed: a path hidden relative to
 * either root stays hidden), without duplicates, and without masks inside a masked directory (its
 * empty directory is read-only: bubblewrap could not create their mount points).
 */
export function mergeMasks(sets: readonly DenyMasks[]): DenyMasks {
  const covering = new Set(sets.flatMap((s) => [...s.dirs, ...(s.unscanned ?? [])]));
  const underDir = (p: string) => {
    for (let q = parentOf(p); q !== undefined; q = parentOf(q)) if (covering.has(q)) return true;
    return false;
  };
  const keep = (list: Iterable<string>) => [...new Set(list)].filter((p) => !underDir(p));
  const dirs = keep(covering).sort();
  const hidden = new Set(sets.flatMap((s) => s.unscanned ?? []));
  return {
    dirs,
    files: keep(sets.flatMap((s) => s.files)).filter((p) => !covering.has(p)),
    pins: keep(sets.flatMap((s) => s.pins)).filter((p) => !covering.has(p)),
    symlinks: [...new Set(sets.flatMap((s) => s.symlinks))],
    unscanned: dirs.filter((d) => hidden.has(d)),
    // Nested roots judge the same directory twice: the first judgement is kept (a later change fails the check anyway).
    ...(sets.some((s) => s.ids) ? { ids: new Map(sets.flatMap((s) => [...(s.ids ?? [])]).reverse()) } : {}),
  };
}

function parentOf(path: string): string | undefined {
  if (path === "/" || path === "") return undefined;
  const i = path.lastIndexOf("/");
  return i <= 0 ? "/" : path.slice(0, i);
}

