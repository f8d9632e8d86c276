import { randomBytes } from "node:crypto";
import { AUDIT_UNAVAILABLE, AuditWriteError, type AuditEntry, type AuditSink } from "./types.js";

/** The call could not be recorded: the caller must not act (or, after acting, must say so). */
export type AuditRefusal = { ok: false; rule: typeof AUDIT_UNAVAILABLE; reason: string };

/** What a call that changes something is, before it runs. `args` already redacted. */
export interface IntentFacts {
  tool: string;
  args: Record<string, unknown>;
  /** The rule that allowed it, when one decided before it runs (commands). */
  rule?: string;
  backend?: string;
  client?: string;
}

/** How it ended. */
export interface OutcomeFacts {
  decision: "allow" | "deny" | "error";
  rule: string;
  exit_code?: number | null;
  bytes?: number;
  duration_ms: number;
  backend?: string;
  handle?: string;
  /** sha256 of the result (audit/result-digest.ts). */
  result_sha256?: string;
}

/** An intent on record: the call may now take effect; `finish` records how it ended. */
export interface OpenCall {
  ok: true;
  /** The outcome record, linked to the intent by id. A refusal here means the call took effect unrecorded. */
  finish(outcome: OutcomeFacts): Promise<{ ok: true } | AuditRefusal>;
}

/**
 * Records, durably, that a call is about to change something: the first half of "intent, then
 * outcome". Only when this resolves ok may the call take effect; otherwise it is refused and
 * nothing happens. When the intent reached the log but could not be synced, an outcome saying it
 * was refused is attempted, so the log does not read "may have happened".
 */
export async function recordIntent(sink: AuditSink, facts: IntentFacts): Promise<OpenCall | AuditRefusal> {
  const id = randomBytes(8).toString("hex");
  const outcome = (o: OutcomeFacts): AuditEntry => ({ id, phase: "outcome", time: new Date().toISOString(), tool: facts.tool, ...o });
  try {
    await sink.record({ id, phase: "intent", time: new Date().toISOString(), ...facts }, { durable: true });
  } catch (err) {
    if (err instanceof AuditWriteError && err.written) await sink.record(outcome({ decision: "error", rule: AUDIT_UNAVAILABLE, duration_ms: 0 })).catch(() => undefined);
    return refusal(err);
  }
  return {
    ok: true,
    finish: (o) => recordCall(sink, outcome(o)),
  };
}

/**
 * The one record of a call that changed nothing (a read, a denial, a refusal), or an outcome. A
 * record that reached the log counts as recorded even when a sync after it failed.
 */
export async function recordCall(sink: AuditSink, entry: AuditEntry): Promise<{ ok: true } | AuditRefusal> {
  try {
    await sink.record(entry);
    return { ok: true };
  } catch (err) {
    return err instanceof AuditWriteError && err.written ? { ok: true } : refusal(err);
  }
}

function refusal(err: unknown): AuditRefusal {
  return { ok: false, rule: AUDIT_UNAVAILABLE, reason: `the audit log cannot record it: ${(err as Error).message}` };
}
