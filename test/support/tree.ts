import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { randomBytes } from "node:crypto";

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
