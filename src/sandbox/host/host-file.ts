import { fsyncSync, ftruncateSync, readSync, writeSync } from "node:fs";
import { Fd, wasi } from "@bjorn3/browser_wasi_shim";
import { errnoOf } from "./errno.js";
import { ALL_RIGHTS, filestatOfFd } from "./filestat.js";
import type { RunContext } from "./run-context.js";
import { setFdTimes } from "./times.js";

export interface HostFileMode {
  read: boolean;
  write: boolean;
  append: boolean;
}

/**
 * An open regular file on the host. The descriptor was opened by the resolver (O_NOFOLLOW,
 * verified under its root), so this class only moves bytes: the position is kept here (Node has no
 * lseek) and reads go straight into wasm memory when the caller offers a view.
 */
export class HostFile extends Fd {
  private pos = 0;

  constructor(
    private readonly ctx: RunContext,
    /** Whether the innermost root holding this file is read-write (metadata writes). */
    private readonly rootWritable: boolean,
    readonly fd: number,
    /** Guest-facing path, for denials. */
    readonly guestPath: string,
    private readonly mode: HostFileMode,
  ) {
    super();
  }

  /** Reads at the current position into `into` (wasm memory); returns bytes read or throws an errno. */
  readInto(into: Uint8Array): { ret: number; n: number } {
    if (!this.mode.read) return { ret: wasi.ERRNO_BADF, n: 0 };
    try {
      const n = readSync(this.fd, into, 0, into.byteLength, this.pos);
      this.pos += n;
      return { ret: 0, n };
    } catch (err) {
      return { ret: errnoOf(err), n: 0 };
    }
  }

  preadInto(into: Uint8Array, offset: bigint): { ret: number; n: number } {
    if (!this.mode.read) return { ret: wasi.ERRNO_BADF, n: 0 };
    try {
      return { ret: 0, n: readSync(this.fd, into, 0, into.byteLength, Number(offset)) };
    } catch (err) {
      return { ret: errnoOf(err), n: 0 };
    }
  }

  override fd_read(size: number): { ret: number; data: Uint8Array } {
    const buf = new Uint8Array(size);
    const { ret, n } = this.readInto(buf);
    return { ret, data: buf.subarray(0, n) };
  }

  override fd_pread(size: number, offset: bigint): { ret: number; data: Uint8Array } {
    const buf = new Uint8Array(size);
    const { ret, n } = this.preadInto(buf, offset);
    return { ret, data: buf.subarray(0, n) };
  }

  override fd_write(data: Uint8Array): { ret: number; nwritten: number } {
    if (!this.mode.write) return { ret: wasi.ERRNO_BADF, nwritten: 0 };
    try {
      if (this.mode.append) {
        const n = writeSync(this.fd, data, 0, data.byteLength, null);
        const st = this.ctx.fstat(this.fd);
        this.pos = st.stat ? Number(st.stat.size) : this.pos + n;
        return { ret: 0, nwritten: n };
      }
      const n = writeSync(this.fd, data, 0, data.byteLength, this.pos);
      this.pos += n;
      return { ret: 0, nwritten: n };
    } catch (err) {
      return { ret: errnoOf(err), nwritten: 0 };
    }
  }

  override fd_pwrite(data: Uint8Array, offset: bigint): { ret: number; nwritten: number } {
    if (!this.mode.write) return { ret: wasi.ERRNO_BADF, nwritten: 0 };
    try {
      return { ret: 0, nwritten: writeSync(this.fd, data, 0, data.byteLength, Number(offset)) };
    } catch (err) {
      return { ret: errnoOf(err), nwritten: 0 };
    }
  }

  override fd_seek(offset: bigint, whence: number): { ret: number; offset: bigint } {
    let base: number;
    if (whence === wasi.WHENCE_SET) base = 0;
    else if (whence === wasi.WHENCE_CUR) base = this.pos;
    else if (whence === wasi.WHENCE_END) {
      const st = this.ctx.fstat(this.fd);
      if (!st.stat) return { ret: st.ret, offset: 0n };
      base = Number(st.stat.size);
    } else return { ret: wasi.ERRNO_INVAL, offset: 0n };
    const next = base + Number(offset);
    if (next < 0 || !Number.isSafeInteger(next)) return { ret: wasi.ERRNO_INVAL, offset: 0n };
    this.pos = next;
    return { ret: 0, offset: BigInt(next) };
  }

  override fd_tell(): { ret: number; offset: bigint } {
    return { ret: 0, offset: BigInt(this.pos) };
  }

  override fd_filestat_get() {
    return filestatOfFd(this.ctx, this.fd);
  }

  override fd_fdstat_get() {
    const fdstat = new wasi.Fdstat(wasi.FILETYPE_REGULAR_FILE, this.mode.append ? wasi.FDFLAGS_APPEND : 0);
    fdstat.fs_rights_base = ALL_RIGHTS;
    fdstat.fs_rights_inherited = ALL_RIGHTS;
    return { ret: 0, fdstat };
  }

  override fd_fdstat_set_flags(flags: number): number {
    // Only O_NONBLOCK may be toggled (a no-op on regular files); O_APPEND is fixed at open.
    const append = (flags & wasi.FDFLAGS_APPEND) !== 0;
    return append === this.mode.append ? 0 : wasi.ERRNO_NOTSUP;
  }

  override fd_filestat_set_size(size: bigint): number {
    if (!this.mode.write) return wasi.ERRNO_BADF;
    try {
      ftruncateSync(this.fd, Number(size));
      return 0;
    } catch (err) {
      return errnoOf(err);
    }
  }

  override fd_filestat_set_times(atim: bigint, mtim: bigint, fstFlags: number): number {
    if (!this.rootWritable) return this.ctx.refuseReadOnly(this.guestPath);
    return setFdTimes(this.ctx, this.fd, atim, mtim, fstFlags);
  }

  override fd_sync(): number {
    try {
      fsyncSync(this.fd);
      return 0;
    } catch (err) {
      return errnoOf(err);
    }
  }

  override fd_close(): number {
    this.ctx.closeHost(this.fd);
    return 0;
  }
}
