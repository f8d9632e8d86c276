import { execFileSync } from "node:child_process";
import { lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, realpathSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { createHash, randomBytes } from "node:crypto";

/** A real temporary tree; `realpath`ed so paths compare with the server's canonical roots. */
export function makeTempDir(prefix = "warden-"): string {
  return realpathSync(mkdtempSync(join(tmpdir(), prefix)));
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

/** Writes files (`path: content`) and symlinks (`path: {link: target}`) under `base`. */
export function writeTree(base: string, spec: Record<string, string | Buffer | { link: string } | { fifo: true } | { dir: true }>): void {
  for (const [rel, value] of Object.entries(spec)) {
    const path = join(base, rel);
    mkdirSync(dirname(path), { recursive: true });
    if (typeof value === "string" || Buffer.isBuffer(value)) writeFileSync(path, value);
    else if ("link" in value) symlinkSync(value.link, path);
    else if ("fifo" in value) execFileSync("mkfifo", [path]);
    else mkdirSync(path, { recursive: true });
  }
}

/** A string that appears nowhere else, to detect leaks of outside content. */
export function canary(label = "CANARY"): string {
  return `${label}-${randomBytes(12).toString("hex")}`;
}

/**
 * A digest of a whole real tree: every entry's path, type, mode, size, mtime and content (link
 * targets for symlinks). Equal digests before and after: nothing in the tree was modified.
 */
export function treeDigest(dir: string): string {
  const h = createHash("sha256");
  const walk = (rel: string) => {
    for (const name of readdirSync(join(dir, rel)).sort()) {
      const path = join(dir, rel, name);
      const st = lstatSync(path, { bigint: true });
      h.update(`${join(rel, name)}\0${st.mode}\0${st.size}\0${st.mtimeNs}\0${st.ino}\0`);
      if (st.isSymbolicLink()) h.update(readlinkSync(path));
      else if (st.isFile()) h.update(readFileSync(path));
      else if (st.isDirectory()) walk(join(rel, name));
    }
  };
  walk("");
  return h.digest("hex");
}
