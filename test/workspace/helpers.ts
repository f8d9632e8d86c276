import { execFileSync, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import type { WorkspaceHandle } from "../../src/workspace/index.js";

/** Runs a shell script inside the workspace's namespace, where the root's path shows the merged view. */
export function runInside(h: WorkspaceHandle, script: string): string {
  const [cmd, ...args] = h.enterArgv();
  const r = spawnSync(cmd!, [...args, "/bin/sh", "-ec", script], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`script failed (${r.status}): ${r.stderr}`);
  return r.stdout;
}

export interface TreeEntry {
  kind: "file" | "dir" | "symlink" | "other";
  mode: number;
  content?: string;
}

/**
 * A tree as a map from relative path to kind, permission bits and content digest (or link target),
 * read with lstat only: never follows a symlink, so it is safe under /proc/<holder>/root.
 */
export function snapshot(dir: string, opts: { skip?: (rel: string) => boolean } = {}): Map<string, TreeEntry> {
  const out = new Map<string, TreeEntry>();
  const walk = (abs: string, rel: string) => {
    for (const name of readdirSync(abs).sort()) {
      const r = rel ? `${rel}/${name}` : name;
      if (opts.skip?.(r)) continue;
      const p = join(abs, name);
      const st = lstatSync(p);
      const mode = st.mode & 0o7777;
      if (st.isDirectory()) {
        out.set(r, { kind: "dir", mode });
        walk(p, r);
      } else if (st.isSymbolicLink()) out.set(r, { kind: "symlink", mode: 0, content: readlinkSync(p) });
      else if (st.isFile()) out.set(r, { kind: "file", mode, content: createHash("sha1").update(readFileSync(p)).digest("hex") });
      else out.set(r, { kind: "other", mode });
    }
  };
  walk(dir, "");
  return out;
}

/** What git can carry: no empty directories, only the owner's execute bit of files, no directory modes. */
export function gitView(tree: Map<string, TreeEntry>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [p, e] of tree) {
    if (e.kind === "dir" || e.kind === "other") continue;
    out[p] = e.kind === "symlink" ? `link:${e.content}` : `${e.mode & 0o100 ? "x" : "-"}:${e.content}`;
  }
  return out;
}

export function plain(tree: Map<string, TreeEntry>): Record<string, TreeEntry> {
  return Object.fromEntries([...tree].sort(([a], [b]) => (a < b ? -1 : 1)));
}

export function git(cwd: string, ...args: string[]): string {
  return execFileSync("git", args, { cwd, encoding: "utf8", env: { ...process.env, GIT_AUTHOR_NAME: "t", GIT_AUTHOR_EMAIL: "t@t", GIT_COMMITTER_NAME: "t", GIT_COMMITTER_EMAIL: "t@t", GIT_CONFIG_NOSYSTEM: "1", HOME: cwd } });
}

/** Every mount, in any process's mount namespace, whose line mentions `text` (e.g. a workspace's directory). */
export function mountsMentioning(text: string): string[] {
  const found: string[] = [];
  for (const pid of readdirSync("/proc").filter((n) => /^\d+$/.test(n))) {
    let info: string;
    try {
      info = readFileSync(`/proc/${pid}/mountinfo`, "utf8");
    } catch {
      continue;
    }
    for (const line of info.split("\n")) if (line.includes(text)) found.push(`${pid}: ${line}`);
  }
  return found;
}

/**
 * The workspace drivers a suite runs under: all three by default; WARDEN_WS_DRIVERS=kernel (or fuse, copy)
 * narrows it, as WARDEN_MODES does for the server's modes.
 */
export const WS_DRIVERS: string[] = process.env.WARDEN_WS_DRIVERS?.split(",").filter((d) => d === "kernel" || d === "fuse" || d === "copy") ?? ["kernel", "fuse", "copy"];

/** Every process in the same mount namespace as `pid` (the holder and, for fuse, its FUSE daemons), with its command name. */
export function processesInMountNs(pid: number): Array<{ pid: number; comm: string }> {
  let ns: string;
  try {
    ns = readlinkSync(`/proc/${pid}/ns/mnt`);
  } catch {
    return [];
  }
  const found: Array<{ pid: number; comm: string }> = [];
  for (const p of readdirSync("/proc").filter((n) => /^\d+$/.test(n))) {
    try {
      if (readlinkSync(`/proc/${p}/ns/mnt`) === ns) found.push({ pid: Number(p), comm: readFileSync(`/proc/${p}/comm`, "utf8").trim() });
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

/** A PATH directory under `base` linking every program of the usual directories but `without` (a machine lacking it). */
export function pathWithout(base: string, without: string): string {
  const bin = join(base, `bin-no-${without}`);
  mkdirSync(bin, { recursive: true });
  for (const dir of ["/usr/local/bin", "/usr/bin", "/bin", "/usr/sbin", "/sbin"]) {
    for (const name of existsSync(dir) ? readdirSync(dir) : []) {
      if (name === without || existsSync(join(bin, name))) continue;
      symlinkSync(join(dir, name), join(bin, name));
    }
  }
  return bin;
}
