import { closeSync } from "node:fs";
import type { BigIntStats } from "node:fs";
import { join } from "node:path";
import { fstatBig, listDir, lstatAt, openDir, openSubdir, readFileBeneath, readlinkBeneath } from "./beneath.js";
import type { Change, EntryInfo } from "./changes.js";
import type { LayerEncoding } from "./drivers.js";
import { readLayerMarks, type LayerMarks } from "./xattr.js";

/**
 * The changes of one root, computed from the layers on disk the way overlayfs composes them, without
 * a mount (so `diff` works on a closed, orphaned or live workspace alike):
 *
 * - layers are read top first; in each directory, the first layer that names an entry decides it;
 * - a character device 0:0 (or an xattr whiteout in an "x"-opaque directory) is a whiteout: the entry
 *   is gone from the merged view;
 * - a non-directory hides everything below it in lower layers; a directory merges with the same-named
 *   directories below it, down to (and including) the first one marked opaque.
 *
 * Only directories some upper layer has are walked: everywhere else the merged view is the real tree.
 * The result is compared with the real tree as it is now, entry by entry (type, permission bits,
 * content or link target). Test: test/workspace/compose.test.ts compares it with the kernel's own view.
 */
export interface ComposeInput {
  root: string;
  /** Upper layer directories, top first (the current upper, then checkpoints newest first). */
  layers: string[];
  /** Per layer: ns floor for its birth times (a copied layer), or null. */
  floors: Array<bigint | null>;
  /** Used where a filesystem keeps no birth times. */
  createdNs: bigint;
  /** How the upper layers mark deletions (drivers.ts); default kernel. */
  encoding?: LayerEncoding;
}

interface Src {
  fd: number;
  /** Index into input.layers; LOWER for the real root. */
  layer: number;
  /** The directory's path relative to the root (same in every layer). */
  rel: string;
  /** Birth time of this directory in its layer (bounded by the layer's floor). */
  bornNs: bigint;
}

interface Decided {
  src: Src;
  st: BigIntStats;
}

const LOWER = -1;

export function composeChanges(input: ComposeInput): Change[] {
  const fuse = input.encoding === "fuse";
  const marks: LayerMarks[] = input.layers.map((l) => readLayerMarks(l, input.encoding));
  const changes: Change[] = [];
  const ctx: Ctx = { input, marks, changes, fuse };
  const rootFds: number[] = [];
  try {
    const srcs: Src[] = [];
    for (const [k, dir] of input.layers.entries()) {
      const fd = openDir(dir);
      rootFds.push(fd);
      srcs.push({ fd, layer: k, rel: "", bornNs: born(ctx, k, fstatBig(fd)) });
      if (isOpaque(ctx, k, "", fd)) break;
    }
    const lowerFd = openDir(input.root);
    rootFds.push(lowerFd);
    const sawOpaque = srcs.some((src) => isOpaque(ctx, src.layer, "", src.fd));
    if (!sawOpaque) srcs.push({ fd: lowerFd, layer: LOWER, rel: "", bornNs: 0n });
    walk(ctx, "", srcs, lowerFd, BigInt(Number.MAX_SAFE_INTEGER) * 1_000_000n);
  } finally {
    for (const fd of rootFds) closeSync(fd);
  }
  return changes;
}

interface Ctx {
  input: ComposeInput;
  marks: LayerMarks[];
  changes: Change[];
  /** fuse-overlayfs's encoding: `.wh.NAME` whiteouts and `.wh..wh..opq` opaque markers too. */
  fuse: boolean;
}

/** fuse-overlayfs's marker names: the opaque marker file, and the whiteout it keeps beside it. */
const FUSE_OPAQUE = ".wh..wh..opq";
const FUSE_WH_PREFIX = ".wh.";

/** Whether a layer's directory (`rel`, open as `fd`) hides everything below it. */
function isOpaque(ctx: Ctx, layer: number, rel: string, fd: number): boolean {
  if (layer === LOWER) return false;
  if (ctx.marks[layer]!.opaque.has(rel)) return true;
  return ctx.fuse && lstatAt(fd, FUSE_OPAQUE) !== null;
}

/**
 * A directory entry of a layer as the merged view sees it: for fuse-overlayfs, `.wh.NAME` is a
 * whiteout of NAME (what it writes where it cannot make a 0:0 device) and its opaque markers
 * (`.wh..wh..opq`, `.wh..opq`) are no entries at all. Null: not an entry of the view.
 */
function viewName(ctx: Ctx, src: Src, name: string): { name: string; whiteout: boolean } | null {
  if (!ctx.fuse || src.layer === LOWER || !name.startsWith(FUSE_WH_PREFIX)) return { name, whiteout: false };
  const target = name.slice(FUSE_WH_PREFIX.length);
  if (target === ".opq" || target === FUSE_WH_PREFIX + ".opq" || target === "") return null;
  return { name: target, whiteout: true };
}

/**
 * When an entry of a layer came to be: its birth time, never later than the layer's floor (a copied
 * layer), and the workspace's creation where the filesystem keeps no birth times.
 */
function born(ctx: Ctx, layer: number, st: BigIntStats): bigint {
  let t = st.birthtimeNs > 0n ? st.birthtimeNs : ctx.input.createdNs;
  const floor = ctx.input.floors[layer];
  if (floor != null && floor < t) t = floor;
  return t;
}

const joinRel = (rel: string, name: string): string => (rel === "" ? name : `${rel}/${name}`);

/**
 * The earliest moment the entry `name` of an upper layer can have started hiding the real one. A
 * copy-up (marked with user.overlay.origin) is born when the real file was first changed through the
 * workspace, and only then; anything else (a new file, a file renamed over, a whiteout, a directory
 * made again) may have replaced an earlier entry, so the directory holding it bounds it instead:
 * overlayfs makes that directory in the layer before its first entry, and cannot make it again
 * without hiding everything below it.
 */
function shadowOf(ctx: Ctx, src: Src, name: string): bigint {
  if (!ctx.marks[src.layer]!.origin.has(joinRel(src.rel, name))) return src.bornNs;
  const st = lstatAt(src.fd, name);
  return st ? born(ctx, src.layer, st) : src.bornNs;
}

function isWhiteout(ctx: Ctx, src: Src, name: string, st: BigIntStats): boolean {
  if (st.isCharacterDevice() && st.rdev === 0n) return true;
  return src.layer !== LOWER && ctx.marks[src.layer]!.xOpaque.has(src.rel) && ctx.marks[src.layer]!.xWhiteouts.has(joinRel(src.rel, name));
}

function kindOf(st: BigIntStats): EntryInfo["kind"] {
  return st.isFile() ? "file" : st.isDirectory() ? "dir" : st.isSymbolicLink() ? "symlink" : "other";
}

function info(ctx: Ctx, src: Src, st: BigIntStats): EntryInfo {
  return {
    kind: kindOf(st),
    mode: Number(st.mode & 0o7777n),
    size: Number(st.size),
    base: src.layer === LOWER ? ctx.input.root : ctx.input.layers[src.layer]!,
  };
}

/**
 * Compares one merged directory (its sources `srcs`, top first) with the real directory `lowerFd`
 * (or with nothing: a directory the workspace added). `floor` bounds the shadow time of everything
 * below an opaque directory or a replaced one.
 */
function walk(ctx: Ctx, rel: string, srcs: Src[], lowerFd: number | null, floor: bigint): void {
  const decided = new Map<string, Decided | null>();
  // When each name started hiding the real entry, at the earliest, over all upper layers: see shadowOf.
  const shadow = new Map<string, bigint>();
  for (const src of srcs) {
    for (const d of listDir(src.fd)) {
      const v = viewName(ctx, src, d.name);
      if (v === null) continue;
      if (src.layer !== LOWER) {
        const t = shadowOf(ctx, src, d.name);
        const prev = shadow.get(v.name);
        if (prev === undefined || t < prev) shadow.set(v.name, t);
      }
      if (decided.has(v.name)) continue;
      if (v.whiteout) {
        decided.set(v.name, null);
        continue;
      }
      const st = lstatAt(src.fd, d.name);
      if (!st) continue;
      decided.set(d.name, isWhiteout(ctx, src, d.name, st) ? null : { src, st });
    }
  }
  const lowerNames = new Set(lowerFd === null ? [] : listDir(lowerFd).map((d) => d.name));
  const names = [...new Set([...decided.keys(), ...lowerNames])].sort();
  for (const name of names) {
    const m = decided.get(name);
    if (m && m.src.layer === LOWER) continue; // the real entry shows through: unchanged
    const path = joinRel(rel, name);
    const t = min(floor, shadow.get(name) ?? floor);
    const lst = lowerFd !== null && lowerNames.has(name) ? lstatAt(lowerFd, name) : null;
    if (!m) {
      if (lst) deleted(ctx, lowerFd!, rel, name, lst, t);
      continue;
    }
    if (!lst) {
      added(ctx, rel, name, m, srcs, t);
      continue;
    }
    const oldInfo = info(ctx, { fd: lowerFd!, layer: LOWER, rel, bornNs: 0n }, lst);
    const newInfo = info(ctx, m.src, m.st);
    if (newInfo.kind === "dir" && oldInfo.kind === "dir") {
      if (newInfo.mode !== oldInfo.mode) ctx.changes.push({ root: ctx.input.root, path, status: "modified", old: oldInfo, new: newInfo, shadowNs: t });
      const { children, childFloor } = childSources(ctx, m, srcs, name, t, floor);
      const lfd = openSubdir(lowerFd!, name);
      try {
        walk(ctx, path, children, lfd, childFloor);
      } finally {
        lfd !== null && closeSync(lfd);
        for (const c of children) closeSync(c.fd);
      }
    } else if (newInfo.kind === oldInfo.kind && newInfo.kind !== "other") {
      if (newInfo.mode !== oldInfo.mode || !sameContent(path, oldInfo, newInfo)) {
        ctx.changes.push({ root: ctx.input.root, path, status: "modified", old: oldInfo, new: newInfo, shadowNs: t });
      }
    } else {
      deleted(ctx, lowerFd!, rel, name, lst, t);
      added(ctx, rel, name, m, srcs, t);
    }
  }
}

/**
 * The sources of the merged directory `name` decided by `m`: that directory, then the same-named
 * directories of the sources below it, stopping after an opaque one or at a whiteout or non-directory.
 * The real tree is included only when no opaque directory stands in the way; then the floor for what
 * lies below is the earliest birth of the directories that hide it.
 */
function childSources(ctx: Ctx, m: Decided, srcs: Src[], name: string, t: bigint, floor: bigint): { children: Src[]; childFloor: bigint } {
  const rel = joinRel(m.src.rel, name);
  const children: Src[] = [];
  let childFloor = floor;
  let opened = false;
  try {
    for (const src of srcs.slice(srcs.indexOf(m.src))) {
      const st = src === m.src ? m.st : lstatAt(src.fd, name);
      if (!st) continue;
      if (!st.isDirectory() || isWhiteout(ctx, src, name, st)) {
        // A whiteout or a file below hides the rest: the merged directory was new at that layer.
        childFloor = min(childFloor, t);
        break;
      }
      const fd = openSubdir(src.fd, name);
      opened = true;
      const bornNs = src.layer === LOWER ? 0n : born(ctx, src.layer, fstatBig(fd));
      children.push({ fd, layer: src.layer, rel, bornNs });
      if (isOpaque(ctx, src.layer, rel, fd)) {
        childFloor = min(childFloor, min(t, bornNs));
        break;
      }
    }
  } catch (err) {
    if (opened) for (const c of children) closeSync(c.fd);
    throw err;
  }
  return { children, childFloor };
}

/** The real entry (and, for a directory, everything below it, deepest first) is gone from the merged view. */
function deleted(ctx: Ctx, parentFd: number, rel: string, name: string, st: BigIntStats, t: bigint): void {
  const path = joinRel(rel, name);
  const old = info(ctx, { fd: parentFd, layer: LOWER, rel, bornNs: 0n }, st);
  if (old.kind === "dir") {
    const fd = openSubdir(parentFd, name);
    try {
      for (const d of listDir(fd).sort((a, b) => (a.name < b.name ? -1 : 1))) {
        const cst = lstatAt(fd, d.name);
        if (cst) deleted(ctx, fd, path, d.name, cst, t);
      }
    } finally {
      closeSync(fd);
    }
  }
  ctx.changes.push({ root: ctx.input.root, path, status: "deleted", old, shadowNs: t });
}

/** The merged entry is new (and, for a directory, everything in it, the directory first). */
function added(ctx: Ctx, rel: string, name: string, m: Decided, srcs: Src[], t: bigint): void {
  const path = joinRel(rel, name);
  const neu = info(ctx, m.src, m.st);
  ctx.changes.push({ root: ctx.input.root, path, status: "added", new: neu, shadowNs: t });
  if (neu.kind !== "dir") return;
  const upperOnly = srcs.filter((s) => s.layer !== LOWER);
  const { children, childFloor } = childSources(ctx, m, upperOnly, name, t, t);
  try {
    walk(ctx, path, children, null, childFloor);
  } finally {
    for (const c of children) closeSync(c.fd);
  }
}

function sameContent(path: string, a: EntryInfo, b: EntryInfo): boolean {
  if (a.kind === "symlink") return readlinkBeneath(a.base, path).equals(readlinkBeneath(b.base, path));
  if (a.size !== b.size) return false;
  return readFileBeneath(a.base, path).equals(readFileBeneath(b.base, path));
}

const min = (a: bigint, b: bigint): bigint => (a < b ? a : b);

/** The upper layers of root i of a workspace, top first, with their floors. */
export function layerInputs(wsDir: string, layers: Array<{ id: string; floorNs?: string | undefined }>, i: number): { layers: string[]; floors: Array<bigint | null> } {
  return {
    layers: layers.map((l) => join(wsDir, "roots", String(i), "layers", l.id)),
    floors: layers.map((l) => (l.floorNs ? BigInt(l.floorNs) : null)),
  };
}
