import { createHash } from "node:crypto";
import { fstatSync, readSync } from "node:fs";
import { chainValue, GENESIS_HEAD, parseRecordLine } from "./chain.js";
import type { AuditRecord, ChainHead } from "./types.js";

/** Bytes after the last newline of a log: a record whose write was cut short. */
export interface TornTail {
  /** Byte offset where the torn line starts. */
  offset: number;
  bytes: number;
  sha256: string;
}

export type TailState =
  | { ok: true; size: number; head: ChainHead; last: AuditRecord | null; keyed: boolean; torn: TornTail | null }
  /** `needsKey`: the last record is keyed and no key was given. */
  | { ok: false; problem: string; needsKey?: boolean };

const FIRST_WINDOW = 64 * 1024;
const MAX_WINDOW = 64 * 1024 * 1024;

/**
 * Where the chain of an open log ends, read from its tail only (opening a large log costs the same
 * as a small one): the last complete line must be a record whose own mac (or legacy hash) holds;
 * anything after the last newline is reported as a torn tail. The full chain is verify.ts's job.
 */
export function readTailState(fd: number, key: Buffer | null): TailState {
  const size = fstatSync(fd).size;
  if (size === 0) return { ok: true, size, head: GENESIS_HEAD, last: null, keyed: false, torn: null };
  let window = Math.min(size, FIRST_WINDOW);
  for (;;) {
    const start = size - window;
    const buf = Buffer.alloc(window);
    readFully(fd, buf, start);
    const lastNl = buf.lastIndexOf(0x0a);
    const prevNl = lastNl > 0 ? buf.lastIndexOf(0x0a, lastNl - 1) : -1;
    // Enough bytes once the last complete line is bounded on both sides (or by the file start).
    const bounded = start === 0 || (lastNl >= 0 && prevNl >= 0);
    if (!bounded) {
      if (window >= MAX_WINDOW) return { ok: false, problem: `the last record is longer than ${MAX_WINDOW} bytes` };
      window = Math.min(size, window * 2);
      continue;
    }
    const tornStart = lastNl + 1;
    const torn: TornTail | null =
      tornStart < buf.length
        ? { offset: start + tornStart, bytes: buf.length - tornStart, sha256: createHash("sha256").update(buf.subarray(tornStart)).digest("hex") }
        : null;
    if (lastNl < 0) return { ok: true, size, head: GENESIS_HEAD, last: null, keyed: false, torn };
    const line = buf.subarray(prevNl + 1, lastNl).toString("utf8");
    const parsed = parseRecordLine(line, key);
    if (!parsed.ok) return { ok: false, problem: `its last complete record (at byte ${start + prevNl + 1}) is invalid: ${parsed.problem}`, ...(parsed.needsKey ? { needsKey: true } : {}) };
    return { ok: true, size, head: { seq: parsed.record.seq, hash: chainValue(parsed.record) }, last: parsed.record, keyed: parsed.keyed, torn };
  }
}

function readFully(fd: number, buf: Buffer, position: number): void {
  let done = 0;
  while (done < buf.length) {
    const n = readSync(fd, buf, done, buf.length - done, position + done);
    if (n === 0) throw new Error("audit log shrank while being read");
    done += n;
  }
}
