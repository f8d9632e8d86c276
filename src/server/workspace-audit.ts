import { recordIntent } from "../audit/call-audit.js";
import { NULL_AUDIT_SINK } from "../audit/memory-sink.js";
import type { AuditSink } from "../audit/types.js";

/** How a failed operation is recorded: a refusal by the engine is a denial, bad input or a failure an error. */
export interface WorkspaceOpFailure {
  decision: "deny" | "error";
  rule: string;
}

/**
 * One operator's workspace operation that changes something (the REST API's, the control socket's),
 * under the audit log as `api.workspace.<op>`: its intent (durable) first, and nothing done when the
 * log cannot take it (`unavailable` makes the error thrown); then its outcome. An apply that
 * returns `applied: false` (conflicts) changed nothing: recorded as a denial.
 */
export async function auditedWorkspaceOp<T>(
  deps: { audit: AuditSink; log: (line: string) => void },
  caller: { client: string },
  op: string,
  args: Record<string, unknown>,
  fn: () => Promise<T>,
  how: { failure: (err: unknown) => WorkspaceOpFailure; unavailable: (reason: string, rule: string) => Error },
): Promise<T> {
  if (deps.audit === NULL_AUDIT_SINK) return fn();
  const started = Date.now();
  const intent = await recordIntent(deps.audit, { tool: `api.workspace.${op}`, args, client: caller.client });
  if (!intent.ok) throw how.unavailable(intent.reason, intent.rule);
  let result: T;
  try {
    result = await fn();
  } catch (err) {
    await intent.finish({ ...how.failure(err), duration_ms: Date.now() - started });
    throw err;
  }
  const refused = typeof result === "object" && result !== null && (result as { applied?: boolean }).applied === false;
  const written = await intent.finish({ decision: refused ? "deny" : "allow", rule: refused ? "workspace.conflict" : "allow", duration_ms: Date.now() - started });
  if (!written.ok) deps.log(`workspace ${op} ${String(args.name)} took effect, but its outcome could not be recorded: ${written.reason}`);
  return result;
}
