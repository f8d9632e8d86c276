import { createHash, randomBytes } from "node:crypto";
import { closeSync, constants, fstatSync, fsyncSync, linkSync, openSync, readSync, unlinkSync, writeSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { fsyncDir } from "./atomic-file.js";

/** The key of a keyed log: 32 random bytes, stored as 64 hex characters and a newline. */
const KEY_BYTES = 32;

/**
 * Reads the log's key, or null when the file does not exist. The file must be a regular file
 * (not a symlink: it is opened with O_NOFOLLOW); for the server (`strict`, the default) also
 * readable by its owner only, with one link (a second link could sit inside a root). Verifying a
 * copied key elsewhere needs neither.
 */
export function readKeyFile(path: string, strict = true): Buffer | null {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT") return null;
    if (code === "ELOOP") throw new Error(`audit key ${path} is a symbolic link; give the real file`);
    throw new Error(`audit key ${path}: cannot read: ${code ?? (err as Error).message}`, { cause: err });
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new Error(`audit key ${path} is not a regular file`);
    if (strict && st.mode & 0o077) throw new Error(`audit key ${path} is readable by others (mode ${(st.mode & 0o777).toString(8)}); chmod 600 it`);
    if (strict && st.nlink !== 1) throw new Error(`audit key ${path} has ${st.nlink} hard links; one of them could lie inside a root`);
    const buf = Buffer.alloc(256);
    const n = readSync(fd, buf, 0, buf.length, 0);
    const text = buf.subarray(0, n).toString("utf8").trim();
    if (!/^[0-9a-f]{64}$/.test(text)) throw new Error(`audit key ${path} does not hold a key (64 hex characters)`);
    return Buffer.from(text, "hex");
  } finally {
    closeSync(fd);
  }
}

/**
 * Creates a new random key at `path` (mode 0600) and returns it; when another process created one
 * first, returns that one. Written under a temporary name, synced, then linked into place, so a
 * reader never sees half a key and two servers never overwrite each other's.
 */
export function createKeyFile(path: string): Buffer {
  const key = randomBytes(KEY_BYTES);
  const temp = join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`);
  const fd = openSync(temp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
  try {
    writeSync(fd, `${key.toString("hex")}\n`);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  try {
    linkSync(temp, path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    return readKeyFile(path) ?? createKeyFile(path);
  } finally {
    unlinkSync(temp);
  }
  fsyncDir(dirname(path));
  return key;
}

/** A short public name of a key (not the key): tells "another key" from "tampered" in reports. */
export function keyId(key: Buffer): string {
  return createHash("sha256").update("mcp-warden audit key id\n").update(key).digest("hex").slice(0, 16);
}
