import { futimesSync, type BigIntStats } from "node:fs";
import { wasi } from "@bjorn3/browser_wasi_shim";
import { errnoOf } from "./errno.js";
import type { RunContext } from "./run-context.js";

/** WASI fst_flags + times -> the seconds Node's utimes wants, keeping what the flags leave alone. */
export function timesFor(
  current: BigIntStats,
  atim: bigint,
  mtim: bigint,
  flags: number,
): { atime: number; mtime: number } | number {
  if ((flags & wasi.FSTFLAGS_ATIM && flags & wasi.FSTFLAGS_ATIM_NOW) || (flags & wasi.FSTFLAGS_MTIM && flags & wasi.FSTFLAGS_MTIM_NOW)) {
    return wasi.ERRNO_INVAL;
  }
  const now = Date.now() / 1000;
  const secs = (ns: bigint) => Number(ns) / 1e9;
  const atime = flags & wasi.FSTFLAGS_ATIM_NOW ? now : flags & wasi.FSTFLAGS_ATIM ? secs(atim) : secs(current.atimeNs);
  const mtime = flags & wasi.FSTFLAGS_MTIM_NOW ? now : flags & wasi.FSTFLAGS_MTIM ? secs(mtim) : secs(current.mtimeNs);
  return { atime, mtime };
}

/** `fd_filestat_set_times` on an open descriptor (file or directory); the caller checks writability. */
export function setFdTimes(ctx: RunContext, fd: number, atim: bigint, mtim: bigint, flags: number): number {
  const st = ctx.fstat(fd);
  if (!st.stat) return st.ret;
  const t = timesFor(st.stat, atim, mtim, flags);
  if (typeof t === "number") return t;
  try {
    futimesSync(fd, t.atime, t.mtime);
    return 0;
  } catch (err) {
    return errnoOf(err);
  }
}
