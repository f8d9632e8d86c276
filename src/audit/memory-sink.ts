import { randomBytes } from "node:crypto";
import { chainEntry, chainValue, GENESIS_HEAD } from "./chain.js";
import { AuditWriteError, type AuditEntry, type AuditRecord, type AuditSink, type ChainedAuditSink, type ChainHead } from "./types.js";

/**
 * For `--audit-log` unset: every call is dropped. One shared frozen instance, so callers can skip
 * building (and redacting) a record nobody will write: `if (sink !== NULL_AUDIT_SINK) ...`.
 */
export const NULL_AUDIT_SINK: AuditSink = Object.freeze({ record: async () => {}, close: async () => {} });

export function createNullAuditSink(): AuditSink {
  return NULL_AUDIT_SINK;
}

export interface MemoryAuditSink extends ChainedAuditSink {
  /** Chained records in order, exactly as the file log would write them. */
  readonly records: AuditRecord[];
  /** The JSONL text the file log would hold. */
  text(): string;
  /** The key records are sealed with. */
  readonly key: Buffer;
  /** While set, record() fails like a full disk (tests of callers that must then not act). */
  failWith: string | null;
}

/** For tests: the same chaining as the file log (keyed; a random key unless given), kept in memory, one instance per call. */
export function createMemoryAuditSink(options: { key?: Buffer } = {}): MemoryAuditSink {
  const records: AuditRecord[] = [];
  const lines: string[] = [];
  const key = options.key ?? randomBytes(32);
  let head: ChainHead = GENESIS_HEAD;
  let closed = false;
  return {
    records,
    key,
    failWith: null,
    text: () => lines.join(""),
    head: () => ({ ...head }),
    async record(entry: AuditEntry): Promise<void> {
      if (closed) throw new AuditWriteError("audit sink is closed", false);
      if (this.failWith) throw new AuditWriteError(this.failWith, false);
      const { record, line } = chainEntry(head, entry, key);
      records.push(record);
      lines.push(line);
      head = { seq: record.seq, hash: chainValue(record) };
    },
    async close(): Promise<void> {
      closed = true;
    },
  };
}
