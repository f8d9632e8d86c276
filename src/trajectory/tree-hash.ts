import { createHash } from "node:crypto";
import { lstatSync, readdirSync, readFileSync, readlinkSync } from "node:fs";
import { join } from "node:path";

/** A tree's identity: one hash over every entry, and each entry's own line to name differences. */
export interface TreeHash {
  hash: string;
  entries: Map<string, string>;
}

/**
 * sha256 over a directory tree as a program inside it sees it: every entry's relative path, kind,
 * permission bits, and the sha256 of a file's bytes or a symlink's target; times and owners left
 * out, so two runs that made the same files hash alike. Nothing is followed: a directory is entered
 * only when lstat says it is one, and symlinks are read, not resolved (under /proc/<holder>/root an
 * absolute one would resolve on the host).
 */
export function treeHash(dir: string): TreeHash {
  const entries = new Map<string, string>();
  const walk = (rel: string) => {
    for (const name of readdirSync(join(dir, rel)).sort()) {
      const path = rel ? `${rel}/${name}` : name;
      const full = join(dir, path);
      const st = lstatSync(full);
      const perm = (st.mode & 0o7777).toString(8);
      if (st.isDirectory()) {
        entries.set(path, `dir ${perm}`);
        walk(path);
      } else if (st.isFile()) entries.set(path, `file ${perm} ${sha256(readFileSync(full))}`);
      else if (st.isSymbolicLink()) entries.set(path, `link ${sha256(Buffer.from(readlinkSync(full)))}`);
      else entries.set(path, `other ${st.mode.toString(8)}`);
    }
  };
  walk("");
  const all = createHash("sha256");
  for (const [path, line] of entries) all.update(`${JSON.stringify(path)} ${line}\n`);
  return { hash: all.digest("hex"), entries };
}

/** Paths whose entries differ between two trees (added, removed or changed), sorted. */
export function treeDifferences(a: TreeHash, b: TreeHash): string[] {
  const paths = new Set([...a.entries.keys(), ...b.entries.keys()]);
  return [...paths].filter((p) => a.entries.get(p) !== b.entries.get(p)).sort();
}

function sha256(bytes: Buffer): string {
  return createHash("sha256").update(bytes).digest("hex");
}
