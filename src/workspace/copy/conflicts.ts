import { lstatBeneath, readlinkBeneath } from "../beneath.js";
import type { Change } from "../changes.js";
import type { WorkspaceManifest } from "../manifest.js";
import { kindOf, readBaseline, type Baseline, type Rec } from "./baseline.js";

/**
 * Apply's conflict check for a copy-driver workspace: a changed path conflicts when the real tree
 * there (or at a directory above it) is no longer what the baseline recorded when the copy was
 * taken. Unchanged means the same kind and bits and, for a file, the recorded inode and ctime (a
 * ctime cannot be set back), for a symlink the same target. A file touched but not changed in the real
 * tree is flagged too: without a digest of the original that cannot be told apart (safe side).
 * Returns the judge apply.ts calls per change, or null for "no conflict".
 */
export function copyConflictJudge(dir: string, m: WorkspaceManifest): (root: string, c: Change) => string | null {
  const baselines = new Map<string, Baseline>(m.roots.map((r, i) => [r.path, readBaseline(dir, i, m.copyBaseline!)]));
  return (root, c) => {
    const base = baselines.get(root)!;
    const why = sinceBaseline(root, c.path, base.get(c.path));
    if (why === "gone" && c.status === "deleted") return null;
    if (why) return `changed in the real tree since workspace ${m.name} began (${why})`;
    for (let up = c.path; up.includes("/"); ) {
      up = up.slice(0, up.lastIndexOf("/"));
      const b = base.get(up);
      if (b && sinceBaseline(root, up, b)) return `${up} changed in the real tree since workspace ${m.name} began`;
    }
    return null;
  };
}

/** How the real entry at `path` differs from its baseline record (absent: it was not there), or null. */
function sinceBaseline(root: string, path: string, b: Rec | undefined): string | null {
  const st = lstatBeneath(root, path);
  if (!st) return b ? "gone" : null;
  if (!b) return "added";
  const kind = kindOf(st);
  if (kind !== b.k) return `now a ${kind === "dir" ? "directory" : kind}`;
  if (Number(st.mode & 0o7777n) !== b.m) return "mode";
  if (kind === "symlink") return readlinkBeneath(root, path).toString("base64") === b.l ? null : "link target";
  if (kind === "file" && (String(st.ino) !== b.i || String(st.ctimeNs) !== b.c)) return "written or replaced";
  return null;
}
