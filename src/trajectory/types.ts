/** Where a step sits in the audit chain: the record that closed it and, for a call that changed something, its intent. */
export interface StepAudit {
  seq: number;
  /** The record's chain value (its MAC; `hash` in the legacy unkeyed format). */
  mac: string;
  intent?: { seq: number; mac: string };
}

/**
 * One tool call of a session, as the audit log recorded it. The log is the only source: a step is
 * an intent and its outcome (linked by id), or the one record of a call that changed nothing.
 */
export interface TrajectoryStep {
  /** 1-based position among the session's calls. */
  index: number;
  tool: string;
  /** Arguments as the log keeps them (redacted: contents as length and sha256, secret-looking values replaced). */
  args: Record<string, unknown>;
  /** When the call began (its intent), or was recorded (a single record). */
  time: string;
  /** `unfinished`: an intent without an outcome (the server stopped mid-call). */
  decision: "allow" | "deny" | "error" | "unfinished";
  rule: string;
  duration_ms?: number;
  exit_code?: number | null;
  bytes?: number;
  backend?: string;
  handle?: string;
  /** sha256 of the result (audit/result-digest.ts); absent for records written before it existed. */
  result_sha256?: string;
  audit: StepAudit;
}

/** A workspace checkpoint taken during the session (read from the workspace's manifest). */
export interface TrajectoryCheckpoint {
  label: string;
  layer: string;
  time: string;
  /** Index of the last step before it (0: before the first call). */
  after_step: number;
}

export interface Trajectory {
  session: string;
  transport?: string;
  client?: string;
  /** The audit log it was read from, and the records of the session in it. */
  log: string;
  first_seq: number;
  last_seq: number;
  /** How the chain up to the session's last record was checked. */
  verified: { records: number; keyed: boolean; head_checked: boolean };
  steps: TrajectoryStep[];
  checkpoints: TrajectoryCheckpoint[];
  /** The copy-on-write workspace the session worked in (serve --overlay), as its records name it. */
  workspace?: string;
}
