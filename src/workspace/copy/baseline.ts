import { closeSync, readFileSync, readlinkSync, type BigIntStats } from "node:fs";
import { join } from "node:path";
import { writeFileAtomic } from "../../audit/atomic-file.js";
import { at, listDir, lstatAt, openSubdir } from "../beneath.js";
import type { EntryInfo } from "../changes.js";
import { WorkspaceError } from "../errors.js";
import { rootRel } from "../layout.js";

/**
 * What the copy driver remembers, per root, under `roots/<i>/copy/`:
 *
 *   baseline-<id>.json   the real tree when the copy was taken: per path its kind, permission bits,
 *                        size, mtime, inode and ctime, and a symlink's target. Apply compares the real
 *                        tree with it (a real entry whose inode and ctime are the recorded ones has not
 *                        changed: no unprivileged call sets a ctime back).
 *   ids-<layer>.json     per path, the inode and ctime of the layer's copy of an entry known to equal
 *                        the baseline. An entry of the copy still carrying them is unchanged, whatever
 *                        its mtime says; that makes the diff a walk of lstat calls, reading content only
 *                        where the agent wrote (and then comparing with the real file, which is the
 *                        original while its own inode and ctime are the recorded ones).
 *
 * Digests are not kept: reading every file of a tree at creation would cost as much as the copy again.
 */
export interface Rec {
  k: EntryInfo["kind"];
  m: number;
  s: number;
  /** mtime, inode and ctime, decimal. */
  t: string;
  i: string;
  c: string;
  /** A symlink's target, base64 (targets are bytes). */
  l?: string;
}
export type Baseline = Map<string, Rec>;
/** path -> "ino:ctime" of an unchanged entry of one layer's copy. */
export type Ids = Map<string, string>;

export const copyMetaDir = (wsDir: string, i: number): string => join(wsDir, rootRel(i), "copy");
const baselineFile = (wsDir: string, i: number, id: string): string => join(copyMetaDir(wsDir, i), `baseline-${id}.json`);
const idsFile = (wsDir: string, i: number, layer: string): string => join(copyMetaDir(wsDir, i), `ids-${layer}.json`);

export const kindOf = (st: BigIntStats): EntryInfo["kind"] => (st.isFile() ? "file" : st.isDirectory() ? "dir" : st.isSymbolicLink() ? "symlink" : "other");
export const idOf = (st: BigIntStats): string => `${st.ino}:${st.ctimeNs}`;

export function recOf(st: BigIntStats, parentFd: number, name: string): Rec {
  const r: Rec = { k: kindOf(st), m: Number(st.mode & 0o7777n), s: Number(st.size), t: String(st.mtimeNs), i: String(st.ino), c: String(st.ctimeNs) };
  if (r.k === "symlink") r.l = readlinkSync(at(parentFd, name), { encoding: "buffer" }).toString("base64");
  return r;
}

/** Whether an entry looks like the recorded one: kind, bits, and for files size and mtime, for links the target. */
export function looksLike(st: BigIntStats, rec: Rec, parentFd: number, name: string): boolean {
  const k = kindOf(st);
  if (k !== rec.k || Number(st.mode & 0o777n) !== (rec.m & 0o777)) return false;
  if (k === "file") return Number(st.size) === rec.s && String(st.mtimeNs) === rec.t;
  if (k === "symlink") return readlinkSync(at(parentFd, name), { encoding: "buffer" }).toString("base64") === rec.l;
  return true;
}

/**
 * Every entry below the directory `fd`, parents before children, by descriptors only (a directory is
 * opened from its parent's with O_NOFOLLOW: a symlink is never followed out of the tree).
 */
export function walkTree(fd: number, each: (rel: string, st: BigIntStats, parentFd: number, name: string) => void, rel = ""): void {
  for (const d of listDir(fd)) {
    const st = lstatAt(fd, d.name);
    if (!st) continue;
    const path = rel === "" ? d.name : `${rel}/${d.name}`;
    each(path, st, fd, d.name);
    if (st.isDirectory()) {
      const sub = openSubdir(fd, d.name);
      try {
        walkTree(sub, each, path);
      } finally {
        closeSync(sub);
      }
    }
  }
}

function readMap<T>(file: string, what: string): Map<string, T> {
  try {
    return new Map(Object.entries(JSON.parse(readFileSync(file, "utf8")) as Record<string, T>));
  } catch (err) {
    throw new WorkspaceError(`cannot read the copy driver's ${what} ${file}: ${(err as Error).message}; the workspace is damaged (discard it)`);
  }
}

export const readBaseline = (wsDir: string, i: number, id: string): Baseline => readMap<Rec>(baselineFile(wsDir, i, id), "baseline");
export const writeBaseline = (wsDir: string, i: number, id: string, b: Baseline): void => writeFileAtomic(baselineFile(wsDir, i, id), JSON.stringify(Object.fromEntries(b)), true, 0o600);

/** A layer's ids; a layer without a file (none recorded) has none: every entry is then compared by content. */
export function readIds(wsDir: string, i: number, layer: string): Ids {
  try {
    return readMap<string>(idsFile(wsDir, i, layer), "ids");
  } catch {
    return new Map();
  }
}
export const writeIds = (wsDir: string, i: number, layer: string, ids: Ids): void => writeFileAtomic(idsFile(wsDir, i, layer), JSON.stringify(Object.fromEntries(ids)), true, 0o600);
