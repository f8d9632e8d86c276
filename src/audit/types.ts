/** One audit record before chaining. The log adds `seq`, `prev` and `hash`. */
export interface AuditEntry {
  time: string;
  tool: string;
  /** Arguments with secret-looking values redacted (see redact.ts). */
  args: Record<string, unknown>;
  decision: "allow" | "deny" | "error";
  rule: string;
  exit_code?: number | null;
  bytes?: number;
  duration_ms: number;
  backend?: string;
  /** How the call arrived: `stdio`, `http` (MCP over Streamable HTTP), `rest` (the REST API), `agent` (the host agent). */
  transport?: string;
  /** Who called: the peer address over HTTP and the MCP client's name/version when it gave them. */
  client?: string;
  /** The MCP session (over HTTP its Mcp-Session-Id); null for calls outside any session (REST, agent). */
  session?: string | null;
}

/**
 * An entry as stored: one JSONL line. `hash` is sha256 (hex) over the canonical JSON of the record
 * without `hash`; `prev` is the previous record's `hash`, or GENESIS_HASH for the first record.
 */
export type AuditRecord = AuditEntry & { seq: number; prev: string; hash: string };

/** Where the last record of a chain ended: the next record continues from here. */
export interface ChainHead {
  /** seq of the last record, 0 before the first. */
  seq: number;
  /** hash of the last record, GENESIS_HASH before the first. */
  hash: string;
}

export interface AuditSink {
  /** Resolves once the record is handed to the OS (a crash of the server after that loses nothing). */
  record(entry: AuditEntry): Promise<void>;
  close(): Promise<void>;
}

/** A sink that can say where its chain ends, so the last hash can be anchored elsewhere. */
export interface ChainedAuditSink extends AuditSink {
  head(): ChainHead;
}

/** Tool name and rule of the record the log appends when it reopens a file with a torn last line. */
export const RECOVERY_TOOL = "audit.recovery";
export const RECOVERY_RULE = "audit.torn_tail";
