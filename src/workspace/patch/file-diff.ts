import { structuredPatch } from "diff";
import { readFileBeneath, readlinkBeneath } from "../beneath.js";
import type { Change, EntryInfo } from "../changes.js";

/** Beyond this many edits a text diff is not worth computing: the file is sent whole (a binary literal). */
const MAX_EDIT_LENGTH = 20_000;

export interface FileDiff {
  oldContent: Buffer | null;
  newContent: Buffer | null;
  binary: boolean;
  /** Text hunks (lines in latin1, one char per byte, so any encoding survives), when not binary. */
  hunks: Array<{ oldStart: number; oldLines: number; newStart: number; newLines: number; lines: string[] }>;
  insertions: number;
  deletions: number;
}

/** The bytes git would record for an entry: a file's content, or a symlink's target. */
export function contentOf(e: EntryInfo | undefined, path: string): Buffer | null {
  if (!e || (e.kind !== "file" && e.kind !== "symlink")) return null;
  return e.kind === "symlink" ? readlinkBeneath(e.base, path) : readFileBeneath(e.base, path);
}

/** Like git (xdiff's buffer_is_binary): a NUL byte in the first 8000 bytes makes a file binary. */
const looksBinary = (b: Buffer | null): boolean => b !== null && b.subarray(0, 8000).includes(0);

/** The content diff of one non-directory change (both sides may be absent: added, deleted). */
export function fileDiff(c: Change): FileDiff {
  const oldContent = contentOf(c.old, c.path);
  const newContent = contentOf(c.new, c.path);
  const out: FileDiff = { oldContent, newContent, binary: false, hunks: [], insertions: 0, deletions: 0 };
  if (oldContent && newContent && oldContent.equals(newContent)) return out;
  if (looksBinary(oldContent) || looksBinary(newContent)) {
    out.binary = true;
    return out;
  }
  const a = (oldContent ?? Buffer.alloc(0)).toString("latin1");
  const b = (newContent ?? Buffer.alloc(0)).toString("latin1");
  const p = structuredPatch("a", "b", a, b, undefined, undefined, { context: 3, maxEditLength: MAX_EDIT_LENGTH });
  if (!p) {
    out.binary = true;
    return out;
  }
  out.hunks = p.hunks;
  for (const h of p.hunks) {
    for (const l of h.lines) {
      if (l[0] === "+") out.insertions++;
      else if (l[0] === "-") out.deletions++;
    }
  }
  return out;
}
