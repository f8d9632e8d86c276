/**
 * Output of a background process kept for incremental reads by byte offset. Retention is bounded:
 * once `capacity` bytes are held, the oldest are dropped and `droppedBytes` (the offset of the
 * first byte still held) moves forward, so a reader learns exactly what it missed.
 */
export class RetainedOutput {
  private chunks: Buffer[] = [];
  private held = 0;
  /** Offset of the first retained byte (= bytes dropped so far). */
  droppedBytes = 0;

  constructor(readonly capacity: number) {}

  /** Offset just past the last byte written. */
  get end(): number {
    return this.droppedBytes + this.held;
  }

  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    if (chunk.length >= this.capacity) {
      this.droppedBytes += this.held + chunk.length - this.capacity;
      this.chunks = [Buffer.from(chunk.subarray(chunk.length - this.capacity))];
      this.held = this.capacity;
      return;
    }
    this.chunks.push(chunk);
    this.held += chunk.length;
    while (this.held > this.capacity) {
      const first = this.chunks[0]!;
      const over = this.held - this.capacity;
      if (first.length <= over) {
        this.chunks.shift();
        this.held -= first.length;
        this.droppedBytes += first.length;
      } else {
        this.chunks[0] = first.subarray(over);
        this.held -= over;
        this.droppedBytes += over;
      }
    }
  }

  /** Up to `max` bytes from `offset` (moved up to the first retained byte when older output was dropped). */
  read(offset: number, max: number): { offset: number; bytes: Buffer } {
    const start = Math.max(offset, this.droppedBytes);
    if (start >= this.end) return { offset: Math.min(start, this.end), bytes: Buffer.alloc(0) };
    const all = Buffer.concat(this.chunks, this.held);
    this.chunks = [all];
    const from = start - this.droppedBytes;
    return { offset: start, bytes: all.subarray(from, Math.min(from + max, all.length)) };
  }
}

/** Bytes at the end of `bytes` that start a UTF-8 character not finished within it. */
export function incompleteUtf8Tail(bytes: Uint8Array): number {
  for (let back = 1; back <= Math.min(3, bytes.length); back++) {
    const b = bytes[bytes.length - back]!;
    if ((b & 0xc0) === 0x80) continue; // continuation byte: look further back
    const need = b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : b >= 0xc0 ? 2 : 1;
    return need > back ? back : 0;
  }
  return 0;
}
