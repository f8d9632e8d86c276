import { chainEntry, GENESIS_HEAD } from "./chain.js";
import type { AuditEntry, AuditRecord, AuditSink, ChainedAuditSink, ChainHead } from "./types.js";

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
}

/** For tests: the same chaining as the file log, kept in memory, one instance per call. */
export function createMemoryAuditSink(): MemoryAuditSink {
  const records: AuditRecord[] = [];
  const lines: string[] = [];
  let head: ChainHead = GENESIS_HEAD;
  let closed = false;
  return {
    records,
    text: () => lines.join(""),
    head: () => ({ ...head }),
    async record(entry: AuditEntry): Promise<void> {
      if (closed) throw new Error("audit sink is closed");
      const { record, line } = chainEntry(head, entry);
      records.push(record);
      lines.push(line);
      head = { seq: record.seq, hash: record.hash };
    },
    async close(): Promise<void> {
      closed = true;
    },
  };
}
