import { NULL_AUDIT_SINK } from "./memory-sink.js";
import { AuditWriteError, type AuditEntry, type AuditRecord, type AuditSink, type ChainedAuditSink, type ChainHead, type RecordOptions } from "./types.js";

/** What the feed tells its listeners: a record as stored (with seq, prev, mac), or a failed write. */
export interface AuditFeedListener {
  record?(record: AuditRecord): void;
  error?(message: string): void;
}

/**
 * The live side of the audit log: every record, as written, goes to the listeners (the SSE stream,
 * the metrics). `wrap` puts the feed between the callers and the log; records are published only
 * once the log took them, so a subscriber never sees a record the file does not hold. One feed per
 * server (no module state): two servers in one process stay apart.
 */
export class AuditFeed {
  private readonly listeners = new Set<AuditFeedListener>();
  private chained: ChainedAuditSink | null = null;
  /** The last write failure, cleared by the next record that is written (readiness reads it). */
  lastError: string | null = null;

  /** Where the chain ends (null without a log). */
  head(): ChainHead | null {
    return this.chained ? this.chained.head() : null;
  }

  subscribe(listener: AuditFeedListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  get subscribers(): number {
    return this.listeners.size;
  }

  /**
   * The sink callers use. The null sink stays itself (callers compare against it to skip redaction).
   * A chained sink's record() does its append in one synchronous turn (file-log.ts), so the head read
   * right after the call is this record's.
   */
  wrap(inner: AuditSink): AuditSink | ChainedAuditSink {
    if (inner === NULL_AUDIT_SINK || typeof (inner as ChainedAuditSink).head !== "function") return inner;
    const chained = inner as ChainedAuditSink;
    this.chained = chained;
    return {
      record: async (entry: AuditEntry, options?: RecordOptions) => {
        const prev = chained.head();
        const pending = chained.record(entry, options);
        const after = chained.head();
        const stored = after.seq !== prev.seq ? ({ ...JSON.parse(JSON.stringify(entry)), seq: after.seq, prev: prev.hash, mac: after.hash } as AuditRecord) : null;
        try {
          await pending;
        } catch (err) {
          this.fail((err as Error).message);
          if (stored && err instanceof AuditWriteError && err.written) this.publish(stored);
          throw err;
        }
        this.lastError = null;
        if (stored) this.publish(stored);
      },
      close: () => chained.close(),
      head: () => chained.head(),
    };
  }

  private publish(record: AuditRecord): void {
    // A listener's failure (a closed socket) must never fail the write it observes.
    for (const l of this.listeners) {
      try {
        l.record?.(record);
      } catch {
        // the listener cleans itself up on its own close
      }
    }
  }

  private fail(message: string): void {
    this.lastError = message;
    for (const l of this.listeners) {
      try {
        l.error?.(message);
      } catch {
        // as above
      }
    }
  }
}
