import { randomBytes } from "node:crypto";
import { chmodSync, closeSync, constants, existsSync, fchmodSync, fstatSync, fsyncSync, futimesSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, symlinkSync, unlinkSync, writeSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import { writeFileAtomic, fsyncDir } from "../audit/atomic-file.js";
import { at, lstatBeneath, openBeneath, readFileBeneath, readlinkBeneath } from "./beneath.js";
import type { Change } from "./changes.js";
import { copyConflictJudge } from "./copy/conflicts.js";
import { diffOf } from "./diff.js";
import { WorkspaceError } from "./errors.js";
import { JOURNAL, LOCK } from "./layout.js";
import { tryLock } from "./lock.js";
import type { WorkspaceManifest } from "./manifest.js";
import { checkSameRoots, openRoot } from "./roots.js";
import { prepareStateDir } from "./state-dir.js";
import { commitManifest, loadWorkspace, stateOf } from "./store.js";

export interface Conflict {
  root: string;
  path: string;
  reason: string;
}

export interface ApplyResult {
  /** False when refused: then `conflicts` says why and the real tree was not touched. */
  applied: boolean;
  conflicts: Conflict[];
  /** Operations carried out on the real tree (deletions, directories, files, links, modes). */
  operations: number;
  /** True when an apply interrupted earlier (a crash) was finished instead of a new one started. */
  resumed: boolean;
}

const opSchema = z.object({
  root: z.number().int().nonnegative(),
  op: z.enum(["delete", "mkdir", "write", "symlink", "chmod"]),
  path: z.string().min(1),
  base: z.string().optional(),
  mode: z.number().int().optional(),
});
/** `id` names the temporary files of this apply (`.warden-apply-<id>-*`), so a resumed one can find what a crash left. */
const journalSchema = z.object({ version: z.literal(1), id: z.string().regex(/^[0-9a-f]{12}$/), started: z.string(), ops: z.array(opSchema) });
type Op = z.infer<typeof opSchema>;

/**
 * Brings a workspace's changes onto the real tree.
 *
 * Conflicts (refused unless `force`): the real entry at a changed path changed at or after the moment
 * the workspace started hiding it. That moment is bounded from below without any record taken at the
 * time (compose.ts, shadowOf): a copy-up's birth time is the moment the real file was first changed
 * through the workspace; any other upper entry is bounded by the birth of the upper directory holding
 * it. The real entry's ctime says when it last changed, and no unprivileged call can set a ctime back
 * (touch -d and utimes set the mtime). So a real change after the workspace took its copy is always
 * caught, and an edit made before it (which the workspace saw, and built on) is not a conflict. False
 * alarms: a real change in the same clock tick, a new entry in a directory the workspace had already
 * written to, and entries the workspace replaced wholesale (bounded by their directory). A path whose
 * real entry is missing is judged by the nearest directory above it that exists. A real entry that
 * already equals the workspace's is never a conflict (an apply run twice, or the same edit made on
 * both sides). Soundness assumes the wall clock is not stepped back, and a root on a local
 * filesystem (an NFS server stamps ctimes with its own clock).
 *
 * Crash safety: the plan is written to `apply-journal.json` (atomically) before the first change;
 * each operation is atomic on its own (a temporary name, fsync, rename) and idempotent, so after a
 * `kill -9` the next `apply` finishes the journal instead of judging the half-applied tree again.
 */
export function applyWorkspace(opts: { stateDir: string; name: string; force?: boolean }): ApplyResult {
  const stateDir = prepareStateDir(opts.stateDir, false);
  const { dir, manifest } = loadWorkspace(stateDir, opts.name);
  const lock = tryLock(join(dir, LOCK));
  if (!lock) throw inUse(manifest);
  try {
    const m = loadWorkspace(stateDir, opts.name).manifest;
    checkRootsStill(m);
    const journalPath = join(dir, JOURNAL);
    if (existsSync(journalPath)) {
      const journal = journalSchema.parse(JSON.parse(readFileSync(journalPath, "utf8")));
      removeTemporaries(m, journal.ops, journal.id);
      runOps(m, journal.ops, true, journal.id);
      finish(dir, m, journalPath);
      return { applied: true, conflicts: [], operations: journal.ops.length, resumed: true };
    }
    const diff = diffOf(dir, m);
    const conflicts: Conflict[] = [];
    // copy driver: judged against the baseline it took of the real tree (copy/conflicts.ts).
    const copyJudge = m.driver === "copy" && !opts.force ? copyConflictJudge(dir, m) : null;
    const judge = copyJudge ? (root: string, c: Change) => (alreadyThere(root, c) ? null : copyJudge(root, c)) : conflictOf;
    if (!opts.force) for (const r of diff.roots) for (const c of r.changes) {
      const why = judge(r.root, c);
      if (why) conflicts.push({ root: r.root, path: c.path, reason: why });
    }
    if (conflicts.length > 0) return { applied: false, conflicts, operations: 0, resumed: false };
    const ops: Op[] = [];
    diff.roots.forEach((r, i) => ops.push(...plan(i, r.changes)));
    const id = randomBytes(6).toString("hex");
    writeFileAtomic(journalPath, JSON.stringify({ version: 1, id, started: new Date().toISOString(), ops }), true, 0o644);
    runOps(m, ops, opts.force === true, id);
    finish(dir, m, journalPath);
    return { applied: true, conflicts: [], operations: ops.length, resumed: false };
  } finally {
    lock.release();
  }
}

function inUse(m: WorkspaceManifest): WorkspaceError {
  const live = stateOf(m) === "live";
  return new WorkspaceError(
    live
      ? `workspace ${m.name} is live (mounted by holder pid ${m.holder?.pid}); stop the server using it first, so its changes stop moving`
      : `workspace ${m.name} is in use by another warden command; wait for it and try again`,
  );
}

function checkRootsStill(m: WorkspaceManifest): void {
  const ids = m.roots.map((r) => {
    const o = openRoot(r.path);
    closeSync(o.fd);
    return o.id;
  });
  checkSameRoots(m, ids);
}

function finish(dir: string, m: WorkspaceManifest, journalPath: string): void {
  commitManifest(dir, { ...m, applied: new Date().toISOString() });
  unlinkSync(journalPath);
  fsyncDir(dir);
}

/** Why applying `c` would lose a change made to the real tree, or null. */
export function conflictOf(root: string, c: Change): string | null {
  const real = lstatBeneath(root, c.path);
  if (!real) {
    if (c.status === "deleted") return null;
    // Missing now: was it there when the workspace changed it? The directory above says.
    let up = c.path;
    while (up.includes("/")) {
      up = up.slice(0, up.lastIndexOf("/"));
      const st = lstatBeneath(root, up);
      // A non-directory there is itself replaced by this workspace (a change of its own, judged on its own).
      if (st) return !st.isDirectory() || st.ctimeNs < c.shadowNs ? null : `${up} changed in the real tree after the workspace changed ${c.path}`;
    }
    const st = lstatBeneath(root, "");
    return st && st.ctimeNs < c.shadowNs ? null : `the root's top directory changed in the real tree after the workspace changed ${c.path}`;
  }
  if (alreadyThere(root, c)) return null;
  if (real.ctimeNs >= c.shadowNs) return "changed in the real tree after the workspace changed it";
  return null;
}

/** Whether the real entry already is what the workspace has there (so applying changes nothing). */
function alreadyThere(root: string, c: Change): boolean {
  const n = c.new;
  if (c.status === "deleted" || !n) return false;
  const real = lstatBeneath(root, c.path);
  if (!real) return false;
  const kind = real.isFile() ? "file" : real.isDirectory() ? "dir" : real.isSymbolicLink() ? "symlink" : "other";
  if (kind !== n.kind) return false;
  if (kind === "symlink") return readlinkBeneath(root, c.path).equals(readlinkBeneath(n.base, c.path));
  if (Number(real.mode & 0o7777n) !== n.mode) return false;
  if (kind === "dir") return true;
  if (kind === "file") return Number(real.size) === n.size && readFileBeneath(root, c.path).equals(readFileBeneath(n.base, c.path));
  return false;
}

/** The operations that make the real tree equal the merged view, in the change list's order. */
function plan(root: number, changes: Change[]): Op[] {
  const ops: Op[] = [];
  for (const c of changes) {
    if (c.status === "deleted") ops.push({ root, op: "delete", path: c.path });
    else {
      const n = c.new!;
      if (n.kind === "dir") ops.push(c.status === "added" ? { root, op: "mkdir", path: c.path, mode: n.mode } : { root, op: "chmod", path: c.path, mode: n.mode });
      else if (n.kind === "file") ops.push({ root, op: "write", path: c.path, base: n.base, mode: n.mode });
      else if (n.kind === "symlink") ops.push({ root, op: "symlink", path: c.path, base: n.base });
      // FIFOs, sockets and devices are not carried over (see the CLI's report of skipped paths).
    }
  }
  return ops;
}

/** A temporary file a killed apply left (written, not yet renamed into place) in a directory it wrote to. */
function removeTemporaries(m: WorkspaceManifest, ops: Op[], id: string): void {
  const dirs = new Set(ops.map((op) => `${op.root}\0${op.path.includes("/") ? op.path.slice(0, op.path.lastIndexOf("/")) : ""}`));
  for (const key of dirs) {
    const [i, rel] = key.split("\0") as [string, string];
    let fd: number;
    try {
      fd = openBeneath(m.roots[Number(i)]!.path, rel, true);
    } catch {
      continue; // not made yet
    }
    try {
      for (const n of readdirSync(`/proc/self/fd/${fd}`)) if (n.startsWith(`.warden-apply-${id}-`)) rmSync(at(fd, n), { force: true });
    } finally {
      closeSync(fd);
    }
  }
}

function runOps(m: WorkspaceManifest, ops: Op[], force: boolean, id: string): void {
  for (const op of ops) {
    const root = m.roots[op.root];
    if (!root) throw new WorkspaceError(`apply journal names root ${op.root}, which the workspace does not have`);
    try {
      runOp(root.path, op, force, id);
    } catch (err) {
      throw new WorkspaceError(`apply stopped at ${op.op} ${join(root.path, op.path)}: ${(err as Error).message}. Nothing before it is lost; run apply again to finish (it resumes)`, "failure", { cause: err });
    }
  }
}

/** One idempotent operation, done through the parent directory's descriptor (never through a symlink). */
function runOp(root: string, op: Op, force: boolean, id: string): void {
  const slash = op.path.lastIndexOf("/");
  const parentRel = slash < 0 ? "" : op.path.slice(0, slash);
  const name = op.path.slice(slash + 1);
  const pfd = openBeneath(root, parentRel, true);
  try {
    const target = at(pfd, name);
    const st = lstatBeneath(root, op.path);
    switch (op.op) {
      case "delete":
        if (st) rmSync(target, { recursive: true, force: true });
        break;
      case "mkdir":
        if (st && !st.isDirectory()) {
          if (!force) throw new Error("a non-directory is in the way");
          unlinkSync(target);
        }
        if (!st || !st.isDirectory()) mkdirExisting(target, op.mode ?? 0o755);
        chmodSync(target, op.mode ?? 0o755);
        break;
      case "chmod":
        chmodSync(target, op.mode ?? 0o755);
        break;
      case "write": {
        if (st?.isDirectory()) rmSync(target, { recursive: true, force: true });
        const tmp = at(pfd, `.warden-apply-${id}-${randomBytes(4).toString("hex")}`);
        const src = openBeneath(op.base!, op.path, false);
        try {
          const data = readFileSync(src);
          const srcSt = fstatTimes(src);
          const fd = openSync(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
          try {
            let off = 0;
            while (off < data.length) off += writeSync(fd, data, off, data.length - off);
            fchmodSync(fd, op.mode ?? 0o644);
            futimesSync(fd, srcSt.atime, srcSt.mtime);
            fsyncSync(fd);
          } finally {
            closeSync(fd);
          }
          renameSync(tmp, target);
        } catch (err) {
          rmSync(tmp, { force: true });
          throw err;
        } finally {
          closeSync(src);
        }
        fsyncSync(pfd);
        break;
      }
      case "symlink": {
        if (st?.isDirectory()) rmSync(target, { recursive: true, force: true });
        const tmp = at(pfd, `.warden-apply-${id}-${randomBytes(4).toString("hex")}`);
        symlinkSync(readlinkBeneath(op.base!, op.path), tmp);
        renameSync(tmp, target);
        fsyncSync(pfd);
        break;
      }
    }
  } finally {
    closeSync(pfd);
  }
}

/** mkdir that accepts an existing directory (an operation run again after a crash). */
function mkdirExisting(path: string, mode: number): void {
  try {
    mkdirSync(path, { mode });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
  }
}

function fstatTimes(fd: number): { atime: Date; mtime: Date } {
  const st = fstatSync(fd);
  return { atime: st.atime, mtime: st.mtime };
}
