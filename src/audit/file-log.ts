import { closeSync, fstatSync, fsyncSync, mkdirSync, openSync, writeSync } from "node:fs";
import { dirname } from "node:path";
import { chainEntry } from "./chain.js";
import { readTailState, type TornTail } from "./tail.js";
import { RECOVERY_RULE, RECOVERY_TOOL, type AuditEntry, type ChainHead, type ChainedAuditSink } from "./types.js";

export { createMemoryAuditSink, createNullAuditSink, NULL_AUDIT_SINK, type MemoryAuditSink } from "./memory-sink.js";

export interface AuditLogOptions {
  /** fsync after every record, so records also survive a power loss (a server crash never loses one). Default false. */
  fsync?: boolean;
  /** Where a torn tail found at open, or another writer, is reported. Default: stderr. */
  log?: (message: string) => void;
  /** Clock for the recovery record (tests). */
  now?: () => Date;
}

/**
 * Opens (or creates, mode 0600) a hash-chained JSONL audit log for appending and continues the
 * chain already in it.
 *
 * Crash safety: each record is one `writeSync` on an O_APPEND fd, done before `record()` resolves,
 * so once it resolves the record is in the kernel and a `kill -9` cannot lose it. The append,
 * including seq and hash, runs in one synchronous turn, so concurrent `record()` calls can never
 * interleave or fork the chain.
 *
 * A torn last line (a write cut short by a crash or a power loss) is neither deleted nor chained
 * over silently: the log ends that line and appends an `audit.recovery` record naming its offset,
 * length and sha256, chained to the last complete record. `verifyAuditLog` accepts a torn line only
 * when such a record follows it. A last complete line that is not a valid record is tampering or
 * corruption, not a crash: opening fails and `warden audit verify` tells where.
 */
export async function openAuditLog(path: string, options: AuditLogOptions = {}): Promise<ChainedAuditSink> {
  const log = options.log ?? ((message: string) => process.stderr.write(`warden: ${message}\n`));
  const now = options.now ?? (() => new Date());
  mkdirSync(dirname(path), { recursive: true });
  // a+: O_APPEND for every write, reads (pread) for the tail.
  const fd = openSync(path, "a+", 0o600);
  let head: ChainHead;
  let size: number;
  let state: "open" | "broken" | "closed" = "open";

  const append = (text: string): void => {
    const buf = Buffer.from(text, "utf8");
    let done = 0;
    try {
      // One writeSync in practice; the loop only matters for a short write (disk full, a signal).
      while (done < buf.length) done += writeSync(fd, buf, done, buf.length - done);
      if (options.fsync) fsyncSync(fd);
    } catch (err) {
      // Part of a record may be on disk: stop writing; the next open recovers the torn line.
      if (done > 0) state = "broken";
      throw new Error(`audit log ${path}: write failed: ${(err as Error).message}`, { cause: err });
    } finally {
      size += done;
    }
  };

  const sync = (): void => {
    const tail = readTailState(fd);
    if (!tail.ok) throw new Error(`audit log ${path}: ${tail.problem}; run \`warden audit verify ${path}\` and move the file aside to start a new log`);
    head = tail.head;
    size = tail.size;
    if (tail.torn) {
      log(`audit log ${path}: the last line was torn (${tail.torn.bytes} bytes at byte ${tail.torn.offset}, a write cut short); appending a recovery record`);
      const { record, line } = chainEntry(head, recoveryEntry(tail.torn, now()));
      append(`\n${line}`);
      head = { seq: record.seq, hash: record.hash };
    }
  };

  try {
    sync();
  } catch (err) {
    closeSync(fd);
    throw err;
  }

  return {
    async record(entry: AuditEntry): Promise<void> {
      if (state !== "open") throw new Error(`audit log ${path} is ${state === "closed" ? "closed" : "unusable after a failed write; restart to recover it"}`);
      if (fstatSync(fd).size !== size) {
        // Someone else appended (another server with the same file): continue from their tail.
        log(`audit log ${path}: changed by another writer; continuing its chain`);
        const tail = readTailState(fd);
        if (!tail.ok || tail.torn) throw new Error(`audit log ${path}: changed by another writer and its tail is ${tail.ok ? "torn" : "invalid"}`);
        head = tail.head;
        size = tail.size;
      }
      const { record, line } = chainEntry(head, entry);
      append(line);
      head = { seq: record.seq, hash: record.hash };
    },
    head: () => ({ ...head }),
    async close(): Promise<void> {
      if (state === "closed") return;
      state = "closed";
      closeSync(fd);
    },
  };
}

function recoveryEntry(torn: TornTail, at: Date): AuditEntry {
  return {
    time: at.toISOString(),
    tool: RECOVERY_TOOL,
    args: { torn_offset: torn.offset, torn_bytes: torn.bytes, torn_sha256: torn.sha256 },
    decision: "error",
    rule: RECOVERY_RULE,
    duration_ms: 0,
  };
}
