import { closeSync, constants, fstatSync, lstatSync, openSync, readdirSync, readlinkSync, readSync, type BigIntStats, type Dirent } from "node:fs";

/**
 * Reading a tree without following a symlink anywhere on the way, in the style of the sandbox's
 * resolver: every directory is opened from its parent's descriptor (`/proc/self/fd/N/name`) with
 * O_NOFOLLOW, so a directory swapped for a symlink while a live workspace is read (its upper layer
 * is what the agent writes) leads nowhere outside.
 */
const DIR = constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW | constants.O_NONBLOCK | constants.O_NOCTTY;
const FILE = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK | constants.O_NOCTTY;

export const at = (fd: number, name: string): string => `/proc/self/fd/${fd}/${name}`;

/** Opens an absolute directory path (its last component not followed). */
export function openDir(path: string): number {
  return openSync(path, DIR);
}

/** Opens the directory `name` inside the held directory `fd`, refusing a symlink. */
export function openSubdir(fd: number, name: string): number {
  return openSync(at(fd, name), DIR);
}

export function lstatAt(fd: number, name: string): BigIntStats | null {
  try {
    return lstatSync(at(fd, name), { bigint: true });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR") return null;
    throw err;
  }
}

export function fstatBig(fd: number): BigIntStats {
  return fstatSync(fd, { bigint: true });
}

export function listDir(fd: number): Dirent[] {
  return readdirSync(`/proc/self/fd/${fd}`, { withFileTypes: true });
}

/** Opens `rel` ('/'-separated, relative) beneath the directory `base` without following any symlink. */
export function openBeneath(base: string, rel: string, wantDir: boolean): number {
  const parts = rel.split("/").filter((p) => p.length > 0);
  let fd = openDir(base);
  try {
    for (let i = 0; i < parts.length; i++) {
      const last = i === parts.length - 1;
      const next = last && !wantDir ? openSync(at(fd, parts[i]!), FILE) : openSubdir(fd, parts[i]!);
      closeSync(fd);
      fd = next;
    }
    return fd;
  } catch (err) {
    closeSync(fd);
    throw err;
  }
}

/** The content of the regular file `rel` beneath `base` (refused if it is anything else). */
export function readFileBeneath(base: string, rel: string): Buffer {
  const fd = openBeneath(base, rel, false);
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw Object.assign(new Error(`${rel} is not a regular file`), { code: "EINVAL" });
    const buf = Buffer.allocUnsafe(st.size);
    let off = 0;
    while (off < buf.length) {
      const n = readSync(fd, buf, off, buf.length - off, off);
      if (n === 0) break;
      off += n;
    }
    return off === buf.length ? buf : buf.subarray(0, off);
  } finally {
    closeSync(fd);
  }
}

/** The target of the symlink `rel` beneath `base`, as bytes (link targets are not always UTF-8). */
export function readlinkBeneath(base: string, rel: string): Buffer {
  const slash = rel.lastIndexOf("/");
  const fd = openBeneath(base, slash < 0 ? "" : rel.slice(0, slash), true);
  try {
    return readlinkSync(at(fd, rel.slice(slash + 1)), { encoding: "buffer" });
  } finally {
    closeSync(fd);
  }
}

/** lstat of `rel` beneath `base`, or null when it (or a directory on the way) is missing. */
export function lstatBeneath(base: string, rel: string): BigIntStats | null {
  if (rel === "") return lstatSync(base, { bigint: true });
  const slash = rel.lastIndexOf("/");
  let fd: number;
  try {
    fd = openBeneath(base, slash < 0 ? "" : rel.slice(0, slash), true);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR" || code === "ELOOP") return null;
    throw err;
  }
  try {
    return lstatAt(fd, rel.slice(slash + 1));
  } finally {
    closeSync(fd);
  }
}
