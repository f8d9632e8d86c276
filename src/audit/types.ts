/**
 * One audit record before chaining. The log adds `seq`, `prev` and `mac` (or, in the legacy
 * unkeyed format, `hash`).
 *
 * A call that changes something is two records linked by `id`: an `intent` written (and synced)
 * before it takes effect, and an `outcome` after. A call that changes nothing (a read, a denial,
 * a refusal) is one record without `phase`.
 */
export interface AuditEntry {
  /** Links an intent to its outcome (random, unique per call). */
  id?: string;
  phase?: AuditPhase;
  time: string;
  tool: string;
  /** Arguments with secret-looking values redacted (see redact.ts). Absent on outcomes: the intent holds them. */
  args?: Record<string, unknown>;
  /** Absent on intents: the call has not run yet. */
  decision?: "allow" | "deny" | "error";
  /** On an intent, the rule that allowed it when one decided already (commands). */
  rule?: string;
  exit_code?: number | null;
  bytes?: number;
  duration_ms?: number;
  backend?: string;
  /** How the call arrived: `stdio`, `http` (MCP over Streamable HTTP), `rest` (the REST API), `agent` (the host agent). */
  transport?: string;
  /** Who called: the peer address over HTTP and the MCP client's name/version when it gave them. */
  client?: string;
  /** The MCP session (over HTTP its Mcp-Session-Id); null for calls outside any session (REST, agent). */
  session?: string | null;
  /** Handle of the background process a command started. */
  handle?: string;
  /** serve --overlay: the copy-on-write workspace the call worked in (trajectory replay finds it by this). */
  workspace?: string;
  /**
   * sha256 of what the call returned (audit/result-digest.ts), on the record that ends a call that
   * ran (an outcome, or the one record of a read): trajectories name results by it without storing them.
   */
  result_sha256?: string;
}

export type AuditPhase = "intent" | "outcome";

/**
 * An entry as stored: one JSONL line. Keyed format: `mac` is HMAC-SHA256 (key from the key file,
 * hex) over the canonical JSON of the record without `mac`; legacy format: `hash` is plain
 * sha256 over the record without `hash`. `prev` is the previous record's `mac` or `hash`, or
 * GENESIS_HASH for the first record.
 */
export type AuditRecord = AuditEntry & { seq: number; prev: string; mac?: string; hash?: string };

/** Where the last record of a chain ended: the next record continues from here. */
export interface ChainHead {
  /** seq of the last record, 0 before the first. */
  seq: number;
  /** Chain value of the last record (its `mac`, or `hash` for a legacy record), GENESIS_HASH before the first. */
  hash: string;
}

export interface RecordOptions {
  /**
   * fsync the log (and the head file's directory) before resolving: the record then survives a
   * power loss too. Intents are always written durably.
   */
  durable?: boolean;
}

export interface AuditSink {
  /**
   * Resolves once the record is handed to the OS (a crash of the server after that loses nothing).
   * Rejects with AuditWriteError when it cannot be written: the caller must then not act.
   */
  record(entry: AuditEntry, options?: RecordOptions): Promise<void>;
  close(): Promise<void>;
}

/** A sink that can say where its chain ends, so the last hash can be anchored elsewhere. */
export interface ChainedAuditSink extends AuditSink {
  head(): ChainHead;
}

/**
 * A record could not be written (disk full, I/O error, the log cut under the server).
 * `written` says whether the record itself reached the log anyway (a later fsync or head update
 * failed): an intent that was written needs an outcome, one that was not must not get one.
 */
export class AuditWriteError extends Error {
  constructor(
    message: string,
    readonly written: boolean,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = "AuditWriteError";
  }
}

/** Tool name and rule of the record the log appends when it reopens a file with a torn last line. */
export const RECOVERY_TOOL = "audit.recovery";
export const RECOVERY_RULE = "audit.torn_tail";

/** Rule of a call refused because its audit record could not be written. */
export const AUDIT_UNAVAILABLE = "audit.unavailable";
/** Rule of a call that took effect but whose outcome record could not be written. */
export const AUDIT_OUTCOME_UNRECORDED = "audit.outcome_unrecorded";
