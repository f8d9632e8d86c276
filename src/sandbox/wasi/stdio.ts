import { Fd, wasi } from "@bjorn3/browser_wasi_shim";

/** Thrown out of the module when stdout passes its cap: the run stops there. */
export class OutputLimitExceeded extends Error {
  constructor(readonly limit: number) {
    super(`stdout exceeded ${limit} bytes`);
  }
}

/** A pipe-like type (not a character device), so wasi-libc buffers stdout fully instead of by line. */
function pipeStat(): wasi.Fdstat {
  const s = new wasi.Fdstat(wasi.FILETYPE_UNKNOWN, 0);
  s.fs_rights_base = BigInt(wasi.RIGHTS_FD_READ | wasi.RIGHTS_FD_WRITE);
  return s;
}

/** The module's stdin: the request's bytes, read once. */
export class StdinFd extends Fd {
  private pos = 0;
  constructor(private readonly data: Uint8Array) {
    super();
  }
  /** Copies straight into wasm memory. */
  readInto(into: Uint8Array): { ret: number; n: number } {
    const n = Math.min(into.byteLength, this.data.byteLength - this.pos);
    into.set(this.data.subarray(this.pos, this.pos + n));
    this.pos += n;
    return { ret: 0, n };
  }
  override fd_read(size: number) {
    const n = Math.min(size, this.data.byteLength - this.pos);
    const data = this.data.slice(this.pos, this.pos + n);
    this.pos += n;
    return { ret: 0, data };
  }
  override fd_fdstat_get() {
    return { ret: 0, fdstat: pipeStat() };
  }
}

/**
 * stdout (`stopAtLimit`: keeps the first `limit` bytes, then stops the run) or stderr (keeps the
 * last `limit` bytes: the last line carries the error code).
 */
export class OutputFd extends Fd {
  /** Filled chunks, then the current one; chunks grow geometrically so big outputs need few. */
  private chunks: Uint8Array[] = [];
  /** Allocated on the first write (most runs never write to stderr). */
  private current = new Uint8Array(0);
  private used = 0;
  private size = 0;
  truncated = false;

  constructor(private readonly limit: number, private readonly stopAtLimit: boolean) {
    super();
  }

  override fd_write(data: Uint8Array) {
    return { ret: 0, nwritten: this.append(data) };
  }

  /** Appends bytes (a view on wasm memory is fine: they are copied); stdout throws past its cap. */
  append(data: Uint8Array): number {
    if (!this.stopAtLimit) {
      this.push(data);
      if (this.size > 2 * this.limit) this.keepTail();
      return data.byteLength;
    }
    const room = this.limit - this.size;
    if (data.byteLength > room) {
      if (room > 0) this.push(data.subarray(0, room));
      this.truncated = true;
      throw new OutputLimitExceeded(this.limit);
    }
    this.push(data);
    return data.byteLength;
  }

  /**
   * fd_allocate on stdout: the module announces its whole output (`offset + len` bytes from the
   * first). Over the cap the run stops here, before it reads or writes more (a main-thread run of a
   * large read goes to the pool without reading the file first); within it, one buffer of that size
   * is made, so the writes need no further buffers and the result no final copy. stderr: no-op.
   */
  override fd_allocate(offset: bigint, len: bigint): number {
    if (!this.stopAtLimit) return wasi.ERRNO_NOTSUP;
    const total = offset + len;
    if (total > BigInt(this.limit)) {
      this.truncated = true;
      throw new OutputLimitExceeded(this.limit);
    }
    const want = Number(total);
    if (this.chunks.length === 0 && want > this.current.byteLength) {
      const next = new Uint8Array(want);
      next.set(this.current.subarray(0, this.used));
      this.current = next;
    }
    return 0;
  }

  private push(data: Uint8Array): void {
    let at = 0;
    while (at < data.byteLength) {
      if (this.used === this.current.byteLength) this.grow(data.byteLength - at);
      const n = Math.min(data.byteLength - at, this.current.byteLength - this.used);
      this.current.set(data.subarray(at, at + n), this.used);
      this.used += n;
      at += n;
    }
    this.size += data.byteLength;
  }

  /**
   * Room for `pending` more bytes. While the output is small it is moved into one bigger buffer (a
   * header line followed by one big write stays a single buffer: no copy at the end); past that,
   * full chunks are kept and a new one is started.
   */
  private grow(pending: number): void {
    // The first write gets exactly its size: a module that buffers its output (wasm-tools' out_*)
    // writes it whole at the end, and a small reply then costs one small allocation, not 16 KiB.
    const want = this.size === 0 ? pending : Math.min(Math.max(pending, this.size, 16 * 1024), 64 * 1024 * 1024);
    if (this.used <= 64 * 1024) {
      const next = new Uint8Array(this.used + want);
      next.set(this.current.subarray(0, this.used));
      this.current = next;
      return;
    }
    this.chunks.push(this.current);
    this.current = new Uint8Array(want);
    this.used = 0;
  }

  /** stderr: only the last `limit` bytes are kept. */
  private keepTail(): void {
    const all = this.concat();
    this.chunks = [];
    this.current = all.slice(all.byteLength - this.limit);
    this.used = this.current.byteLength;
    this.size = this.used;
    this.truncated = true;
  }

  override fd_fdstat_get() {
    return { ret: 0, fdstat: pipeStat() };
  }

  /** Everything kept, in one buffer of its own (transferable). */
  bytes(): Uint8Array {
    if (!this.stopAtLimit && this.size > this.limit) this.keepTail();
    return this.concat();
  }

  private concat(): Uint8Array {
    if (this.chunks.length === 0) return this.current.subarray(0, this.used);
    const out = new Uint8Array(this.size);
    let at = 0;
    for (const c of this.chunks) {
      out.set(c, at);
      at += c.byteLength;
    }
    out.set(this.current.subarray(0, this.used), at);
    return out;
  }
}
