import { closeSync, constants, fstatSync, fsyncSync, ftruncateSync, lstatSync, mkdirSync, openSync, writeSync } from "node:fs";
import { dirname } from "node:path";
import { removeStaleTemps } from "./atomic-file.js";
import { chainEntry, chainValue } from "./chain.js";
import { readHeadFile, writeHeadFile } from "./head.js";
import { createKeyFile, readKeyFile } from "./key.js";
import { readTailState, type TailState, type TornTail } from "./tail.js";
import { AuditWriteError, RECOVERY_RULE, RECOVERY_TOOL, type AuditEntry, type ChainHead, type ChainedAuditSink, type RecordOptions } from "./types.js";

export { createMemoryAuditSink, createNullAuditSink, NULL_AUDIT_SINK, type MemoryAuditSink } from "./memory-sink.js";

export interface AuditLogOptions {
  /** fsync after every record, so every record also survives a power loss. Intents are always synced. Default false. */
  fsync?: boolean;
  /** The key file (created at first start, mode 0600). Default: the log's path + `.key`. */
  keyFile?: string;
  /** The head file (seq and MAC of the last record). Default: the log's path + `.head`. */
  headFile?: string;
  /** Where a torn tail found at open, or another writer, is reported. Default: stderr. */
  log?: (message: string) => void;
  /** Clock for the recovery record and the head (tests). */
  now?: () => Date;
}

/** Where the key and the head of a log live unless told otherwise: beside it, named after it. */
export function auditCompanions(logPath: string, options: Pick<AuditLogOptions, "keyFile" | "headFile"> = {}): { key: string; head: string } {
  return { key: options.keyFile ?? `${logPath}.key`, head: options.headFile ?? `${logPath}.head` };
}

/**
 * Opens (or creates, mode 0600) a keyed, hash-chained JSONL audit log for appending and continues
 * the chain already in it.
 *
 * Each record is sealed with HMAC-SHA256 under a key kept in its own file (created at first start),
 * and after each record the head file (its seq and MAC, sealed too) is replaced atomically: a cut
 * tail or a log rewritten without the key no longer matches them. See docs/AUDIT.md.
 *
 * Crash safety: each record is one `writeSync` on an O_APPEND fd, done before `record()` resolves,
 * so once it resolves the record is in the kernel and a `kill -9` cannot lose it. The append,
 * including seq and MAC, and the head update run in one synchronous turn, so concurrent `record()`
 * calls can never interleave or fork the chain.
 *
 * Failing closed: `record()` rejects with AuditWriteError when the record cannot be written (disk
 * full, I/O error, the file cut or replaced under the server); the caller must then not act. A
 * write that fails partway is undone (the file is cut back to where the record began); where the
 * file refuses that (`chattr +a`), the torn line is recovered like a crash's before the next record.
 *
 * A torn last line (a write cut short by a crash or a power loss) is neither deleted nor chained
 * over silently: the log ends that line and appends an `audit.recovery` record naming its offset,
 * length and sha256, chained to the last complete record. A last complete line that is not a valid
 * record, a head that names a record the log does not end with, or a missing key or head of a keyed
 * log is tampering or corruption, not a crash: opening fails and `warden audit verify` tells where.
 */
export async function openAuditLog(path: string, options: AuditLogOptions = {}): Promise<ChainedAuditSink> {
  const log = options.log ?? ((message: string) => process.stderr.write(`warden: ${message}\n`));
  const now = options.now ?? (() => new Date());
  const files = auditCompanions(path, options);
  for (const p of [path, files.key, files.head]) mkdirSync(dirname(p), { recursive: true });
  // O_APPEND for every write, reads (pread) for the tail; never through a symlink.
  const fd = openSync(path, constants.O_RDWR | constants.O_APPEND | constants.O_CREAT | constants.O_NOFOLLOW, 0o600);
  let key: Buffer;
  let head: ChainHead;
  let size: number;
  let identity: { dev: number; ino: number };
  /** seq of the first keyed record (records before it are an older unkeyed log this one continues). */
  let keyedFrom = 1;
  let state: "open" | "torn" | "lost" | "closed" = "open";
  let lostReason = "";
  /** The last head update failed: the head names an earlier record than the log's last. */
  let headBehind = false;

  /** Appends one record (after `prefix`), then replaces the head file. */
  const append = (entry: AuditEntry, durable: boolean, prefix = ""): void => {
    const { record, line } = chainEntry(head, entry, key);
    const buf = Buffer.from(prefix + line, "utf8");
    let done = 0;
    try {
      // One writeSync in practice; the loop only matters for a short write (disk full, a signal).
      while (done < buf.length) done += writeSync(fd, buf, done, buf.length - done);
    } catch (err) {
      if (done > 0) undoPartialWrite(done);
      throw new AuditWriteError(`audit log ${path}: write failed: ${(err as Error).message}`, false, { cause: err });
    }
    size += buf.length;
    head = { seq: record.seq, hash: chainValue(record) };
    try {
      if (durable) fsyncSync(fd);
      writeHeadFile(files.head, key, head, keyedFrom, durable, now());
      if (headBehind) log(`audit log ${path}: its head ${files.head} is current again (seq ${head.seq})`);
      headBehind = false;
    } catch (err) {
      const problem = `audit log ${path}: record ${record.seq} was written but ${durable ? "syncing it or " : ""}updating the head ${files.head} failed: ${(err as Error).message}`;
      // A durable record (an intent) must be on disk with its head before its call may act.
      if (durable) throw new AuditWriteError(problem, true, { cause: err });
      // Any other record is in the log; the head lags (verify accepts that) until the next one succeeds.
      if (!headBehind) log(`${problem}; the head lags behind the log until a later record updates it`);
      headBehind = true;
    }
  };

  /** Cuts our own half-written record off again; where the file refuses (append-only), leaves it torn for recovery. */
  const undoPartialWrite = (done: number): void => {
    try {
      ftruncateSync(fd, size);
    } catch {
      size += done;
      state = "torn";
    }
  };

  /** Reads the tail; appends a recovery record over a torn last line. */
  const recover = (tail: Extract<TailState, { ok: true }>): void => {
    head = tail.head;
    size = tail.size;
    if (!tail.torn) return;
    log(`audit log ${path}: the last line was torn (${tail.torn.bytes} bytes at byte ${tail.torn.offset}, a write cut short); appending a recovery record`);
    append(recoveryEntry(tail.torn, now()), true, "\n");
  };

  const readTail = (): Extract<TailState, { ok: true }> => {
    const tail = readTailState(fd, key);
    if (!tail.ok) throw new Error(`audit log ${path}: ${tail.problem}; run \`warden audit verify ${path}\` and move the file aside to start a new log`);
    return tail;
  };

  /** The head file must name the record the log ends with (or the one before: a crash between the two writes). */
  const checkHead = (tail: Extract<TailState, { ok: true }>): boolean => {
    const read = readHeadFile(files.head, key);
    const restart = `run \`warden audit verify ${path}\`; to start a new log, move the log with its .head and .key aside`;
    if (read === null) {
      if (tail.keyed) throw new Error(`audit log ${path}: its head file ${files.head} is missing, so a cut tail could not be told; restore it, or ${restart}`);
      // A new log, or an old unkeyed one seen for the first time: keyed records and the head start now.
      keyedFrom = tail.head.seq + 1;
      if (tail.head.seq > 0) log(`audit log ${path}: continuing an unkeyed (legacy) log with keyed records from seq ${keyedFrom}`);
      return false;
    }
    if (!read.ok) throw new Error(`audit log ${path}: ${read.problem}; ${restart}`);
    const h = read.head;
    keyedFrom = h.keyed_from;
    if (h.seq > tail.head.seq) throw new Error(`audit log ${path} ends at seq ${tail.head.seq}, but its head ${files.head} says it reached seq ${h.seq}: records were cut from its tail, or the log was replaced; ${restart}`);
    const matches = h.seq === tail.head.seq ? h.last === tail.head.hash : h.seq === tail.head.seq - 1 ? h.last === tail.last?.prev : true;
    if (!matches) throw new Error(`audit log ${path}: its last records are not the ones its head ${files.head} names: the log was replaced or rewritten; ${restart}`);
    return h.seq === tail.head.seq;
  };

  const loadKey = (): Buffer => {
    const existing = readKeyFile(files.key);
    if (existing) return existing;
    if (lstatOrNull(files.head)) throw new Error(`audit log ${path}: its key ${files.key} is missing but its head ${files.head} exists; restore the key, or move the log with its head aside to start a new log`);
    const probe = readTailState(fd, null);
    if (!probe.ok && probe.needsKey) throw new Error(`audit log ${path} is keyed but its key ${files.key} is missing; restore it, or move the log aside to start a new log`);
    return createKeyFile(files.key);
  };

  /** The path must still lead to the file we hold, at least as long as it was: anything else is a cut or a replacement. */
  const checkFile = (): void => {
    const st = lstatOrNull(path);
    const current = fstatSync(fd).size;
    let problem: string | null = null;
    if (!st || st.dev !== identity.dev || st.ino !== identity.ino) problem = `the file was removed or replaced under the server`;
    else if (current < size) problem = `the file shrank under the server (from ${size} to ${current} bytes): its tail was cut`;
    if (problem) {
      state = "lost";
      lostReason = `audit log ${path}: ${problem}; every call that needs a record is refused until the server restarts (run \`warden audit verify ${path}\`)`;
      log(lostReason);
      throw new AuditWriteError(lostReason, false);
    }
    if (current > size) {
      // Someone else appended (another server with the same file and key): continue from their tail.
      log(`audit log ${path}: changed by another writer; continuing its chain`);
      const tail = readTailState(fd, key);
      if (!tail.ok || tail.torn) throw new AuditWriteError(`audit log ${path}: changed by another writer and its tail is ${tail.ok ? "torn" : `invalid (${tail.problem})`}`, false);
      head = tail.head;
      size = tail.size;
    }
  };

  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new Error(`audit log ${path} is not a regular file`);
    if (st.nlink !== 1) throw new Error(`audit log ${path} has ${st.nlink} hard links; one of them could lie inside a root`);
    identity = { dev: st.dev, ino: st.ino };
    key = loadKey();
    removeStaleTemps(files.head);
    const tail = readTail();
    const headCurrent = checkHead(tail);
    recover(tail);
    if (!tail.torn && !headCurrent) writeHeadFile(files.head, key, head!, keyedFrom, true, now());
  } catch (err) {
    closeSync(fd);
    throw err;
  }

  return {
    async record(entry: AuditEntry, opts: RecordOptions = {}): Promise<void> {
      if (state === "closed") throw new AuditWriteError(`audit log ${path} is closed`, false);
      if (state === "lost") throw new AuditWriteError(lostReason, false);
      checkFile();
      if (state === "torn") {
        const tail = readTailState(fd, key);
        if (!tail.ok) throw new AuditWriteError(`audit log ${path}: ${tail.problem}`, false);
        recover(tail);
        state = "open";
      }
      append(entry, opts.durable === true || options.fsync === true);
    },
    head: () => ({ ...head }),
    async close(): Promise<void> {
      if (state === "closed") return;
      state = "closed";
      closeSync(fd);
    },
  };
}

function lstatOrNull(path: string): { dev: number; ino: number } | null {
  try {
    return lstatSync(path);
  } catch {
    return null;
  }
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
