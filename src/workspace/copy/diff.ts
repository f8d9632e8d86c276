import { closeSync, type BigIntStats } from "node:fs";
import { join } from "node:path";
import { listDir, lstatAt, openDir, openSubdir, readFileBeneath, readlinkBeneath } from "../beneath.js";
import type { Change, EntryInfo, WorkspaceDiff } from "../changes.js";
import { layerRel } from "../layout.js";
import type { WorkspaceManifest } from "../manifest.js";
import { idOf, kindOf, readBaseline, readIds, type Baseline, type Ids } from "./baseline.js";

/**
 * The changes of a copy-driver workspace, in the change model the overlay drivers produce
 * (changes.ts), so git-patch, stat, apply and the HTTP API serve it unchanged.
 *
 * The merged view an overlay would show is rebuilt path by path: where the workspace changed an
 * entry (the copy differs from the baseline) the copy's entry, elsewhere the real tree as it is now.
 * That view is compared with the real tree exactly as compose.ts does: a directory replaced by a file
 * is its entries deleted deepest first, then the file added; a new directory is added before what it
 * holds. A real-tree change the workspace did not make is therefore not in the diff (as with an
 * overlay), and apply's own check (copy/conflicts.ts) refuses a path both sides changed.
 *
 * "Changed by the workspace" is decided without reading content where possible (copy/baseline.ts):
 * an entry whose inode and ctime are still those recorded for the copy is unchanged. Otherwise a
 * file is compared byte for byte with the real file when that is still the original (its own inode
 * and ctime unchanged); when it is not, the entry counts as changed (a false alarm on the safe side).
 */
export function copyDiffOf(dir: string, m: WorkspaceManifest): WorkspaceDiff {
  // No baseline yet: the copy was never finished, so never shown to anyone, and holds no change.
  return { name: m.name, roots: m.roots.map((r, i) => ({ root: r.path, changes: m.copyBaseline ? copyChanges(dir, m, i) : [] })) };
}

interface Ctx {
  root: string;
  upper: string;
  base: Baseline;
  ids: Ids;
  shadowNs: bigint;
  changes: Change[];
}

export function copyChanges(dir: string, m: WorkspaceManifest, i: number): Change[] {
  const root = m.roots[i]!.path;
  const upper = join(dir, layerRel(i, m.upper.id));
  const ctx: Ctx = { root, upper, base: readBaseline(dir, i, m.copyBaseline!), ids: readIds(dir, i, m.upper.id), shadowNs: BigInt(m.createdNs), changes: [] };
  const cfd = openDir(upper);
  try {
    const rfd = openDir(root);
    try {
      walk(ctx, "", cfd, rfd, false);
    } finally {
      closeSync(rfd);
    }
  } finally {
    closeSync(cfd);
  }
  return ctx.changes;
}

const joinRel = (rel: string, name: string): string => (rel === "" ? name : `${rel}/${name}`);
const names = (fd: number | null): string[] => (fd === null ? [] : listDir(fd).map((d) => d.name));
const sub = (fd: number | null, name: string): number | null => (fd === null ? null : openSubdir(fd, name));
const close = (...fds: Array<number | null>): void => fds.forEach((fd) => fd !== null && closeSync(fd));

function info(st: BigIntStats, base: string): EntryInfo {
  return { kind: kindOf(st), mode: Number(st.mode & 0o7777n), size: Number(st.size), base };
}

/**
 * One directory: the copy's (`cfd`) against the real one (`rfd`, or null where the real tree has none).
 * `fresh`: everything here is the workspace's own (a directory it made), so nothing is looked up in the baseline.
 */
function walk(ctx: Ctx, rel: string, cfd: number | null, rfd: number | null, fresh: boolean): void {
  for (const name of [...new Set([...names(cfd), ...names(rfd)])].sort()) {
    const path = joinRel(rel, name);
    const c = cfd === null ? null : lstatAt(cfd, name);
    const r = rfd === null ? null : lstatAt(rfd, name);
    if (!fresh && untouched(ctx, path, c, r)) {
      // The real entry shows through; below an unchanged directory the workspace may still have changed things.
      if (c?.isDirectory()) {
        const cs = sub(cfd, name);
        const rs = r?.isDirectory() ? sub(rfd, name) : null;
        try {
          walk(ctx, path, cs, rs, false);
        } finally {
          close(cs, rs);
        }
      }
      continue;
    }
    if (!c) {
      if (r) deleted(ctx, rfd!, rel, name, r);
      continue;
    }
    if (!r) {
      added(ctx, cfd!, rel, name, c);
      continue;
    }
    const neu = info(c, ctx.upper);
    const old = info(r, ctx.root);
    if (neu.kind === "dir" && old.kind === "dir") {
      if (neu.mode !== old.mode) ctx.changes.push({ root: ctx.root, path, status: "modified", old, new: neu, shadowNs: ctx.shadowNs });
      const cs = sub(cfd, name);
      const rs = sub(rfd, name);
      try {
        walk(ctx, path, cs, rs, fresh || ctx.base.get(path)?.k !== "dir");
      } finally {
        close(cs, rs);
      }
    } else if (neu.kind === old.kind && neu.kind !== "other") {
      if (neu.mode !== old.mode || !sameContent(ctx, path, neu)) ctx.changes.push({ root: ctx.root, path, status: "modified", old, new: neu, shadowNs: ctx.shadowNs });
    } else {
      deleted(ctx, rfd!, rel, name, r);
      added(ctx, cfd!, rel, name, c);
    }
  }
}

/** Whether the workspace left this entry as it was when the copy was taken (see the comment at the top). */
function untouched(ctx: Ctx, path: string, c: BigIntStats | null, r: BigIntStats | null): boolean {
  const b = ctx.base.get(path);
  if (!c) return !b;
  if (!b) return false;
  if (ctx.ids.get(path) === idOf(c)) return true;
  if (kindOf(c) !== b.k || Number(c.mode & 0o7777n) !== b.m) return false;
  if (b.k === "dir" || b.k === "other") return true;
  if (b.k === "symlink") return readlinkBeneath(ctx.upper, path).toString("base64") === b.l;
  if (Number(c.size) !== b.s) return false;
  // The real file is the original only while it carries the recorded inode and ctime.
  if (!r || String(r.ino) !== b.i || String(r.ctimeNs) !== b.c) return false;
  return readFileBeneath(ctx.upper, path).equals(readFileBeneath(ctx.root, path));
}

function sameContent(ctx: Ctx, path: string, neu: EntryInfo): boolean {
  if (neu.kind === "symlink") return readlinkBeneath(ctx.root, path).equals(readlinkBeneath(ctx.upper, path));
  const real = readFileBeneath(ctx.root, path);
  return real.length === neu.size && real.equals(readFileBeneath(ctx.upper, path));
}

/** The real entry is gone from the view (and, for a directory, everything below it, deepest first). */
function deleted(ctx: Ctx, parentFd: number, rel: string, name: string, st: BigIntStats): void {
  const path = joinRel(rel, name);
  if (st.isDirectory()) {
    const fd = openSubdir(parentFd, name);
    try {
      for (const n of names(fd).sort()) {
        const cst = lstatAt(fd, n);
        if (cst) deleted(ctx, fd, path, n, cst);
      }
    } finally {
      closeSync(fd);
    }
  }
  ctx.changes.push({ root: ctx.root, path, status: "deleted", old: info(st, ctx.root), shadowNs: ctx.shadowNs });
}

/** The copy's entry is new (and, for a directory, everything in it, the directory first). */
function added(ctx: Ctx, parentFd: number, rel: string, name: string, st: BigIntStats): void {
  const path = joinRel(rel, name);
  ctx.changes.push({ root: ctx.root, path, status: "added", new: info(st, ctx.upper), shadowNs: ctx.shadowNs });
  if (!st.isDirectory()) return;
  const fd = openSubdir(parentFd, name);
  try {
    walk(ctx, path, fd, null, true);
  } finally {
    closeSync(fd);
  }
}
