import { open } from "node:fs/promises";

/** One line of a log file, without its newline. */
export interface LogLine {
  /** 1-based line number. */
  number: number;
  /** Byte offset of the line's first byte. */
  offset: number;
  bytes: Buffer;
  /** False for a last line with no newline after it. */
  terminated: boolean;
}

const CHUNK = 1024 * 1024;

/** Streams a file line by line with byte offsets, in bounded memory (beyond the longest line). */
export async function* readLogLines(path: string, maxLine = 64 * 1024 * 1024): AsyncGenerator<LogLine> {
  const file = await open(path, "r");
  try {
    let parts: Buffer[] = [];
    let partLength = 0;
    let lineOffset = 0;
    let position = 0;
    let number = 0;
    const buf = Buffer.alloc(CHUNK);
    for (;;) {
      const { bytesRead } = await file.read(buf, 0, CHUNK, position);
      if (bytesRead === 0) break;
      const chunk = buf.subarray(0, bytesRead);
      let from = 0;
      for (let nl = chunk.indexOf(0x0a, from); nl >= 0; nl = chunk.indexOf(0x0a, from)) {
        const piece = chunk.subarray(from, nl);
        const bytes = parts.length === 0 ? Buffer.from(piece) : Buffer.concat([...parts, piece]);
        yield { number: ++number, offset: lineOffset, bytes, terminated: true };
        lineOffset = position + nl + 1;
        parts = [];
        partLength = 0;
        from = nl + 1;
      }
      if (from < chunk.length) {
        parts.push(Buffer.from(chunk.subarray(from)));
        partLength += chunk.length - from;
        if (partLength > maxLine) throw new Error(`line ${number + 1} is longer than ${maxLine} bytes`);
      }
      position += bytesRead;
    }
    if (partLength > 0) yield { number: ++number, offset: lineOffset, bytes: Buffer.concat(parts), terminated: false };
  } finally {
    await file.close();
  }
}
