import { createHash } from "node:crypto";
import { GENESIS_HEAD, parseRecordLine, type ParsedRecord } from "./chain.js";
import { readLogLines, type LogLine } from "./line-reader.js";
import { RECOVERY_TOOL, type ChainHead } from "./types.js";

export type AuditVerifyResult =
  | { ok: true; records: number }
  | {
      ok: false;
      /** 1-based line of the first bad record. */
      line: number;
      seq?: number;
      problem: string;
      /** Records that verified before it. */
      records: number;
      /** The start of the bad line, for the report. */
      text: string;
    };

interface Line extends LogLine {
  parsed?: ParsedRecord;
}

/**
 * Walks the whole chain and reports the first record that was edited, removed, inserted or moved,
 * or a torn last line. It cannot notice records cut off at a line boundary at the end, nor a
 * file rewritten from scratch with a rebuilt chain: see docs/AUDIT.md for anchoring the last hash.
 */
export async function verifyAuditLog(path: string): Promise<AuditVerifyResult> {
  const walk = new ChainWalk();
  let held: Line | null = null;
  try {
    for await (const line of readLogLines(path)) {
      // One line of lookahead: a torn line is excused by the recovery record right after it.
      if (held) {
        const bad = walk.step(held, line);
        if (bad) return bad;
      }
      held = line;
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code) throw err;
    return { ok: false, line: walk.lastLine + 1, problem: (err as Error).message, records: walk.records, text: "" };
  }
  if (held) {
    const bad = walk.step(held, null);
    if (bad) return bad;
  }
  return { ok: true, records: walk.records };
}

type Failure = Extract<AuditVerifyResult, { ok: false }>;

class ChainWalk {
  records = 0;
  lastLine = 0;
  private head: ChainHead = GENESIS_HEAD;
  /** Hash of the record before `head`, to tell an inserted record from a rewritten one. */
  private beforeHead: string | null = null;
  private headLine = 0;
  /** The line before the current one was a torn line excused by the current (recovery) record. */
  private excused = false;

  step(line: Line, next: Line | null): Failure | null {
    this.lastLine = line.number;
    const text = line.bytes.toString("utf8");
    const fail = (problem: string, at = line, seq?: number): Failure => ({
      ok: false,
      line: at.number,
      ...(seq !== undefined ? { seq } : {}),
      problem,
      records: this.records,
      text: (at === line ? text : "").slice(0, 500),
    });
    if (next && this.excusedBy(line, next)) {
      this.excused = true;
      return null;
    }
    const excused = this.excused;
    this.excused = false;
    if (!line.terminated) {
      return fail(`torn tail: the last line (${line.bytes.length} bytes) has no newline: a write cut short by a crash, or a truncated file; the ${this.records} records before it verify`, line, looseSeq(text));
    }
    const parsed = (line.parsed ??= parseRecordLine(text));
    if (!parsed.ok) return fail(parsed.problem, line, looseSeq(text));
    const { seq, prev, hash } = parsed.record;
    if (parsed.record.tool === RECOVERY_TOOL && !excused) return fail("recovery record without the torn line it names right before it (that line was removed or changed)", line, seq);
    const expected = this.head.seq + 1;
    if (seq !== expected || prev !== this.head.hash) {
      if (hash === this.head.hash) return fail(`duplicate of line ${this.headLine}`, line, seq);
      if (prev === this.beforeHead && seq === this.head.seq) {
        const inserted = { ...line, number: this.headLine };
        return { ...fail(`inserted record: line ${line.number} chains to the record before this one`, inserted, this.head.seq), text: "", records: this.records - 1 };
      }
      if (seq > expected) return fail(`seq gap: expected seq ${expected}, found ${seq} (a record was removed or moved)`, line, seq);
      if (seq < expected) return fail(`seq ${seq} out of order: expected seq ${expected} (records reordered or duplicated)`, line, seq);
      return fail(`prev mismatch: prev is not the hash of the record before it (that record was rewritten, or this one forged)`, line, seq);
    }
    this.beforeHead = this.head.hash;
    this.head = { seq, hash };
    this.headLine = line.number;
    this.records++;
    return null;
  }

  /** A torn line is skipped when the very next line is a recovery record naming its offset, length and hash. */
  private excusedBy(line: Line, next: Line): boolean {
    const parsed = (next.parsed ??= parseRecordLine(next.bytes.toString("utf8")));
    if (!parsed.ok || parsed.record.tool !== RECOVERY_TOOL) return false;
    const args = parsed.record.args;
    return (
      args.torn_offset === line.offset &&
      args.torn_bytes === line.bytes.length &&
      args.torn_sha256 === createHash("sha256").update(line.bytes).digest("hex")
    );
  }
}

/** seq of a damaged line, when it can still be read, for the report. */
function looseSeq(text: string): number | undefined {
  try {
    const seq = (JSON.parse(text) as { seq?: unknown }).seq;
    if (Number.isSafeInteger(seq)) return seq as number;
  } catch {
    // fall through to a textual look
  }
  const match = /"seq"\s*:\s*(\d+)/.exec(text);
  return match ? Number(match[1]) : undefined;
}
