import type { BigIntStats, Stats } from "node:fs";
import { wasi } from "@bjorn3/browser_wasi_shim";
import type { RunContext } from "./run-context.js";

/**
 * `wasi.Filestat` with the layout fixed: 0.4.2 writes atim/mtim/ctim at offsets 38/46/52, which
 * corrupts `size` (fixed upstream, unreleased). WASI preview1 filestat is 64 bytes: dev@0 ino@8
 * filetype@16 nlink@24 size@32 atim@40 mtim@48 ctim@56.
 */
export class HostFilestat extends wasi.Filestat {
  override write_bytes(view: DataView, ptr: number): void {
    view.setBigUint64(ptr, this.dev, true);
    view.setBigUint64(ptr + 8, this.ino, true);
    view.setUint8(ptr + 16, this.filetype);
    view.setBigUint64(ptr + 24, this.nlink, true);
    view.setBigUint64(ptr + 32, this.size, true);
    view.setBigUint64(ptr + 40, this.atim, true);
    view.setBigUint64(ptr + 48, this.mtim, true);
    view.setBigUint64(ptr + 56, this.ctim, true);
  }
}

/** The WASI file type of host stats (FIFOs have none in WASI and read as unknown). */
export function filetypeOf(st: BigIntStats): number {
  if (st.isFile()) return wasi.FILETYPE_REGULAR_FILE;
  if (st.isDirectory()) return wasi.FILETYPE_DIRECTORY;
  if (st.isSymbolicLink()) return wasi.FILETYPE_SYMBOLIC_LINK;
  if (st.isCharacterDevice()) return wasi.FILETYPE_CHARACTER_DEVICE;
  if (st.isBlockDevice()) return wasi.FILETYPE_BLOCK_DEVICE;
  if (st.isSocket()) return wasi.FILETYPE_SOCKET_STREAM;
  return wasi.FILETYPE_UNKNOWN;
}

export function filestatOf(st: BigIntStats): HostFilestat {
  const f = new HostFilestat(st.ino, filetypeOf(st), st.size);
  f.dev = st.dev;
  f.nlink = st.nlink;
  f.atim = st.atimeNs;
  f.mtim = st.mtimeNs;
  f.ctim = st.ctimeNs;
  return f;
}

/** `fd_filestat_get` on an open descriptor (file or directory). */
export function filestatOfFd(ctx: RunContext, fd: number): { ret: number; filestat: HostFilestat | null } {
  const st = ctx.fstat(fd);
  return st.stat ? { ret: 0, filestat: filestatOf(st.stat) } : { ret: st.ret, filestat: null };
}

/** Every right: WASI rights are advisory here; the runtime enforces access itself. */
export const ALL_RIGHTS = (1n << 30n) - 1n;

/** Only regular files and directories may be opened (FIFOs, sockets and devices are refused). */
export function isOpenable(st: BigIntStats | Stats): boolean {
  return st.isFile() || st.isDirectory();
}
