import { wasi } from "@bjorn3/browser_wasi_shim";
import { localFdTracker } from "../../../src/sandbox/host/fd-tracker.js";
import { HostDirectory } from "../../../src/sandbox/host/host-directory.js";
import { HostFile } from "../../../src/sandbox/host/host-file.js";
import { RunContext } from "../../../src/sandbox/host/run-context.js";
import type { SandboxScope } from "../../../src/sandbox/types.js";

const RIGHTS_READ = BigInt(wasi.RIGHTS_FD_READ | wasi.RIGHTS_FD_READDIR);
const RIGHTS_WRITE = BigInt(wasi.RIGHTS_FD_WRITE);

/** Result of one operation: errno name ("OK" on success) and, for reads, the bytes read. */
export interface OpResult {
  code: string;
  data?: string;
}

const NAMES = new Map<number, string>(
  Object.entries(wasi)
    .filter(([k, v]) => k.startsWith("ERRNO_") && typeof v === "number")
    .map(([k, v]) => [v as number, "E" + k.slice(6)]),
);
NAMES.set(0, "OK");
export const errName = (ret: number): string => NAMES.get(ret) ?? `E?${ret}`;

/** Lists a directory the way wasi-libc does (cookie 0, then each entry's d_next); returns the names. */
export function listNames(dir: HostDirectory): string[] {
  const names: string[] = [];
  for (let cookie = 0n; ; ) {
    const r = dir.fd_readdir_single(cookie);
    if (r.ret !== 0) throw new Error(`fd_readdir: ${errName(r.ret)}`);
    if (!r.dirent) break;
    names.push(new TextDecoder().decode(r.dirent.dir_name));
    cookie = r.dirent.d_next;
  }
  return names;
}

/** Reads an open file to its end (64 KiB reads, as wasi-libc asks) and closes it. */
export function readToEnd(file: HostFile): OpResult {
  try {
    const chunks: Buffer[] = [];
    for (;;) {
      const r = file.fd_read(65536);
      if (r.ret !== 0) return { code: errName(r.ret) };
      if (r.data.byteLength === 0) break;
      chunks.push(Buffer.from(r.data));
    }
    return { code: "OK", data: Buffer.concat(chunks).toString("utf8") };
  } finally {
    file.fd_close();
  }
}

/**
 * The runtime's Fd classes driven directly (no wasm): one RunContext per scope, the preopens as
 * HostDirectory objects, and the WASI operations as plain calls. Table tests run thousands of
 * cases through it in well under a second.
 */
export class Harness {
  readonly ctx: RunContext;
  readonly roots: HostDirectory[];

  constructor(scope: SandboxScope) {
    this.ctx = new RunContext(scope, localFdTracker());
    this.roots = this.ctx.doors.map((d) => new HostDirectory(this.ctx, d, d.fd, [], true));
  }

  get root(): HostDirectory {
    return this.roots[0]!;
  }

  open(path: string, how: { write?: boolean; create?: boolean; excl?: boolean; trunc?: boolean; append?: boolean; dir?: boolean; nofollow?: boolean } = {}, at = this.root) {
    let oflags = 0;
    if (how.create) oflags |= wasi.OFLAGS_CREAT;
    if (how.excl) oflags |= wasi.OFLAGS_EXCL;
    if (how.trunc) oflags |= wasi.OFLAGS_TRUNC;
    if (how.dir) oflags |= wasi.OFLAGS_DIRECTORY;
    const rights = how.write || how.append ? RIGHTS_WRITE : RIGHTS_READ;
    return at.path_open(how.nofollow ? 0 : 1, path, oflags, rights, rights, how.append ? wasi.FDFLAGS_APPEND : 0);
  }

  read(path: string, at = this.root): OpResult {
    const { ret, fd_obj } = this.open(path, {}, at);
    if (ret !== 0 || !fd_obj) return { code: errName(ret) };
    if (!(fd_obj instanceof HostFile)) {
      fd_obj.fd_close();
      return { code: "DIR" };
    }
    return readToEnd(fd_obj);
  }

  write(path: string, content: string, how: { create?: boolean; excl?: boolean; trunc?: boolean; append?: boolean } = { create: true, trunc: true }, at = this.root): OpResult {
    const { ret, fd_obj } = this.open(path, { write: true, ...how }, at);
    if (ret !== 0 || !fd_obj) return { code: errName(ret) };
    try {
      const r = fd_obj.fd_write(new TextEncoder().encode(content));
      return { code: errName(r.ret) };
    } finally {
      fd_obj.fd_close();
    }
  }

  readdir(path: string, at = this.root): OpResult {
    const { ret, fd_obj } = this.open(path, { dir: true }, at);
    if (ret !== 0 || !fd_obj) return { code: errName(ret) };
    try {
      const names: string[] = [];
      for (let cookie = 0n; ; ) {
        const r = fd_obj.fd_readdir_single(cookie);
        if (r.ret !== 0) return { code: errName(r.ret) };
        if (!r.dirent) break;
        names.push(new TextDecoder().decode(r.dirent.dir_name));
        cookie = r.dirent.d_next;
      }
      return { code: "OK", data: names.filter((n) => n !== "." && n !== "..").sort().join(",") };
    } finally {
      fd_obj.fd_close();
    }
  }

  stat(path: string, follow = true, at = this.root): OpResult {
    const r = at.path_filestat_get(follow ? 1 : 0, path);
    return r.ret === 0 ? { code: "OK", data: `type=${r.filestat!.filetype} size=${r.filestat!.size}` } : { code: errName(r.ret) };
  }

  mkdir(path: string, at = this.root): OpResult {
    return { code: errName(at.path_create_directory(path)) };
  }
  unlink(path: string, at = this.root): OpResult {
    return { code: errName(at.path_unlink_file(path)) };
  }
  rmdir(path: string, at = this.root): OpResult {
    return { code: errName(at.path_remove_directory(path)) };
  }
  readlink(path: string, at = this.root): OpResult {
    const r = at.path_readlink(path);
    return r.ret === 0 ? { code: "OK", data: r.data! } : { code: errName(r.ret) };
  }
  rename(from: string, to: string, at = this.root, toAt = at): OpResult {
    return { code: errName(at.renameTo(from, toAt, to)) };
  }
  utimes(path: string, at = this.root): OpResult {
    return { code: errName(at.path_filestat_set_times(1, path, 0n, 0n, wasi.FSTFLAGS_ATIM_NOW | wasi.FSTFLAGS_MTIM_NOW)) };
  }

  /** Ends the run like runModule does; returns how many descriptors besides the roots were still open. */
  close(): number {
    for (const r of this.roots) r.fd_close();
    const left = this.ctx.openCount - this.ctx.doors.length;
    this.ctx.closeAll();
    return left;
  }
}
