/** One audit record before chaining. The log adds `seq`, `prev` and `hash`. */
export interface AuditEntry {
  time: string;
  tool: string;
  /** Arguments with secret-looking values redacted. */
  args: Record<string, unknown>;
  decision: "allow" | "deny" | "error";
  rule: string;
  exit_code?: number | null;
  bytes?: number;
  duration_ms: number;
  backend?: string;
  client?: string;
}

export interface AuditSink {
  record(entry: AuditEntry): Promise<void>;
  close(): Promise<void>;
}
