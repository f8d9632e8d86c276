import { closeSync, constants, fsyncSync, openSync, readdirSync, renameSync, unlinkSync, writeSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { pidExists } from "./pid-exists.js";

/**
 * Replaces `path` with `text` so that a reader (or a restart after `kill -9` at any instruction)
 * sees the old content or the new, never a mix: written in full to a temporary name in the same
 * directory, then renamed over. `durable` syncs the temporary file before the rename and the
 * directory after it, so the new content also survives a power loss (the audit log's intents);
 * without it only the kernel holds the change, which is all a `kill -9` needs. The temporary name
 * carries the pid: two processes never share one. Shared by the audit head and the workspace
 * manifests and journals (src/workspace/), which always want it durable.
 */
export function writeFileAtomic(path: string, data: string | Buffer, durable: boolean, mode = 0o600): void {
  const temp = tempName(path, process.pid);
  const fd = openSync(temp, constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_NOFOLLOW, mode);
  try {
    const buf = typeof data === "string" ? Buffer.from(data, "utf8") : data;
    let done = 0;
    while (done < buf.length) done += writeSync(fd, buf, done, buf.length - done);
    if (durable) fsyncSync(fd);
  } catch (err) {
    closeSync(fd);
    unlinkQuietly(temp);
    throw err;
  }
  closeSync(fd);
  try {
    renameSync(temp, path);
  } catch (err) {
    unlinkQuietly(temp);
    throw err;
  }
  if (durable) fsyncDir(dirname(path));
}

/** fsync of a directory: makes a rename or a new name in it durable. */
export function fsyncDir(dir: string): void {
  const fd = openSync(dir, constants.O_RDONLY | constants.O_DIRECTORY);
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Temporary files of `path` left by processes that were killed mid-write. */
export function removeStaleTemps(path: string): void {
  const prefix = `.${basename(path)}.`;
  let names: string[];
  try {
    names = readdirSync(dirname(path));
  } catch {
    return;
  }
  for (const name of names) {
    if (!name.startsWith(prefix) || !name.endsWith(".tmp")) continue;
    const pid = Number(name.slice(prefix.length, -".tmp".length));
    if (Number.isSafeInteger(pid) && pid > 0 && !pidExists(pid)) unlinkQuietly(join(dirname(path), name));
  }
}

function tempName(path: string, pid: number): string {
  return join(dirname(path), `.${basename(path)}.${pid}.tmp`);
}

function unlinkQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // already gone
  }
}
