/**
 * Keeps the first and last bytes of a stream of unknown length in fixed memory: a command that
 * floods gigabytes costs the server `cap` bytes, never more. The head shows how it started, the
 * tail how it ended (usually the error); the middle is dropped and counted.
 */
const EMPTY = Buffer.alloc(0);

export class HeadTailBuffer {
  /**
   * Grown as bytes arrive (doubling, up to half the cap) and the tail made only once the head is
   * full: most commands print a few bytes, and zero-filling two cap-sized buffers per command was
   * a tenth of the server's CPU under load (bench/load.mjs profile).
   */
  private head: Buffer = EMPTY;
  private headLen = 0;
  private readonly headCap: number;
  private tail: Buffer = EMPTY;
  private readonly tailCap: number;
  private tailStart = 0;
  private tailLen = 0;
  /** Bytes seen so far. */
  total = 0;

  constructor(readonly cap: number) {
    this.headCap = Math.ceil(cap / 2);
    this.tailCap = cap - this.headCap;
  }

  push(chunk: Uint8Array): void {
    this.total += chunk.length;
    let rest = chunk;
    if (this.headLen < this.headCap) {
      const n = Math.min(rest.length, this.headCap - this.headLen);
      if (this.headLen + n > this.head.length) {
        const grown = Buffer.alloc(Math.min(this.headCap, Math.max(this.headLen + n, 2 * this.head.length, 4096)));
        grown.set(this.head.subarray(0, this.headLen));
        this.head = grown;
      }
      this.head.set(rest.subarray(0, n), this.headLen);
      this.headLen += n;
      rest = rest.subarray(n);
    }
    if (rest.length === 0 || this.tailCap === 0) return;
    if (this.tail.length === 0) this.tail = Buffer.alloc(this.tailCap);
    const cap = this.tailCap;
    if (rest.length >= cap) {
      this.tail.set(rest.subarray(rest.length - cap));
      this.tailStart = 0;
      this.tailLen = cap;
      return;
    }
    let write = (this.tailStart + this.tailLen) % cap;
    for (let i = 0; i < rest.length; ) {
      const n = Math.min(rest.length - i, cap - write);
      this.tail.set(rest.subarray(i, i + n), write);
      i += n;
      write = (write + n) % cap;
    }
    const len = this.tailLen + rest.length;
    if (len > cap) this.tailStart = (this.tailStart + len - cap) % cap;
    this.tailLen = Math.min(len, cap);
  }

  get truncated(): boolean {
    return this.total > this.cap;
  }

  /** The kept bytes as text; when truncated, a marker line says how many bytes were dropped. */
  text(): string {
    const head = this.head.subarray(0, this.headLen).toString("utf8");
    const end = this.tailStart + this.tailLen;
    const tailBytes =
      end <= this.tail.length
        ? this.tail.subarray(this.tailStart, end)
        : Buffer.concat([this.tail.subarray(this.tailStart), this.tail.subarray(0, end - this.tail.length)]);
    if (!this.truncated) return Buffer.concat([this.head.subarray(0, this.headLen), tailBytes]).toString("utf8");
    const dropped = this.total - this.headLen - this.tailLen;
    return `${head}\n[... ${dropped} bytes truncated ...]\n${tailBytes.toString("utf8")}`;
  }
}
