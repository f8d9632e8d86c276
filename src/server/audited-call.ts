import { recordCall, recordIntent } from "../audit/call-audit.js";
import { NULL_AUDIT_SINK } from "../audit/memory-sink.js";
import { redactArgs } from "../audit/redact.js";
import { resultDigest } from "../audit/result-digest.js";
import { BlobStore, blobDir } from "../trajectory/blob-store.js";
import { AUDIT_OUTCOME_UNRECORDED, type AuditEntry } from "../audit/types.js";
import { exposedAuditFile } from "../config/audit-files.js";
import { fail, type Caller, type ToolContext, type ToolDefinition, type ToolOutcome } from "../tools/tool.js";
import type { WardenDeps } from "./deps.js";

/**
 * One tool call under the audit log, failing closed:
 * - a session whose roots would reach the log, its key or its head is refused (configured roots are
 *   checked at start; a client's roots are used when none are configured, so they are checked here);
 * - a call that may change something is recorded (intent, synced) before it runs and refused when
 *   that fails; its outcome is recorded after, and the result says so when that fails;
 * - any other call is recorded once, after; when that fails its result is withheld.
 * The command bridge records its own calls (selfAudited tools), through the same two steps.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function auditedCall(tool: ToolDefinition<any>, args: Record<string, unknown>, ctx: ToolContext, deps: WardenDeps, who?: Caller): Promise<ToolOutcome> {
  // serve --overlay: a write holds the session's live workspace (waiting while a live checkpoint copies it), from before its intent to after its outcome.
  const live = deps.overlay ? deps.liveWorkspaces?.get(deps.overlay.workspace) : undefined;
  const writes = !tool.selfAudited && (tool.changes ? tool.changes(args) : !tool.annotations.readOnlyHint);
  const leave = live && writes ? await live.gate.enter("write") : undefined;
  try {
    return await auditedCallHeld(tool, args, ctx, deps, who);
  } finally {
    leave?.();
  }
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
async function auditedCallHeld(tool: ToolDefinition<any>, args: Record<string, unknown>, ctx: ToolContext, deps: WardenDeps, who?: Caller): Promise<ToolOutcome> {
  const started = Date.now();
  const caller = who ? { transport: who.transport, client: who.client, session: who.session, ...(who.request !== undefined ? { request: who.request } : {}), ...(who.workspace ? { workspace: who.workspace } : {}) } : {};
  const audit = deps.audit;
  const redacted = () => redactArgs(args, deps.policy.audit.redact_keys);

  /** One record after the call; a result the log cannot take is withheld. */
  const once = async (outcome: ToolOutcome): Promise<ToolOutcome> => {
    if (audit === NULL_AUDIT_SINK) return outcome;
    const written = await recordCall(audit, { time: new Date(started).toISOString(), tool: tool.name, args: redacted(), ...outcomeFacts(outcome, started), ...caller });
    return written.ok ? outcome : fail(written.rule, `${tool.name}: the result is withheld because ${written.reason}`);
  };

  if (deps.auditFiles) {
    // The roots checked are the roots the call uses: a roots/list_changed in between cannot widen them.
    const roots = await ctx.roots();
    const exposed = exposedAuditFile(deps.auditFiles, roots);
    if (exposed) return once(fail("audit.exposed", `refused: ${exposed}`));
    ctx = { ...ctx, roots: async () => roots };
  }
  if (audit === NULL_AUDIT_SINK || tool.selfAudited) return handle(tool, args, ctx, deps);
  const changes = tool.changes ? tool.changes(args) : !tool.annotations.readOnlyHint;
  if (!changes) return once(await handle(tool, args, ctx, deps));

  if (deps.overlay) keepContents(args, deps);
  const intent = await recordIntent(audit, { tool: tool.name, args: redacted(), ...caller });
  if (!intent.ok) return fail(intent.rule, `${tool.name} was not carried out: ${intent.reason}`);
  const outcome = await handle(tool, args, ctx, deps);
  const written = await intent.finish(outcomeFacts(outcome, started));
  if (written.ok) return outcome;
  const result = outcome.ok ? outcome.text : `${outcome.message} [rule: ${outcome.rule}]`;
  return fail(
    AUDIT_OUTCOME_UNRECORDED,
    `${tool.name} ${outcome.ok ? "took effect" : "failed"}, but its outcome could not be recorded (${written.reason}); the audit log holds its intent without an outcome.\n${result}`,
  );
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
async function handle(tool: ToolDefinition<any>, args: Record<string, unknown>, ctx: ToolContext, deps: WardenDeps): Promise<ToolOutcome> {
  try {
    return await tool.handler(args, ctx);
  } catch (err) {
    // A bug or an unexpected host error: report it as a tool error, fail closed, keep serving.
    deps.log(`${tool.name}: ${(err as Error).stack ?? String(err)}`);
    return { ok: false, rule: "internal_error", message: `${tool.name} failed: ${(err as Error).message}` };
  }
}

/** How a call ended, for the metrics: no digest of the result (that is the audit record's, and costs a pass over the whole result). */
export function callFacts(outcome: ToolOutcome, started: number): Omit<AuditEntry, "time" | "tool" | "args" | "result_sha256"> & { decision: "allow" | "deny" | "error"; rule: string; duration_ms: number } {
  return {
    decision: outcome.ok ? "allow" : isError(outcome.rule) ? "error" : "deny",
    rule: outcome.ok ? (outcome.audit?.rule ?? "allow") : outcome.rule,
    ...(outcome.audit?.exit_code !== undefined ? { exit_code: outcome.audit.exit_code } : {}),
    ...(outcome.audit?.bytes !== undefined ? { bytes: outcome.audit.bytes } : {}),
    duration_ms: Date.now() - started,
    ...(outcome.audit?.backend ? { backend: outcome.audit.backend } : {}),
  };
}

/** The facts of how a call ended, for its audit record: callFacts and the digest of what it returned. */
export function outcomeFacts(outcome: ToolOutcome, started: number): ReturnType<typeof callFacts> & Pick<AuditEntry, "result_sha256"> {
  return { ...callFacts(outcome, started), result_sha256: resultDigest(outcome) };
}

/** Overlay mode: the contents a call writes are kept by sha256 for `warden trajectory replay` (trajectory/blob-store.ts). */
function keepContents(args: Record<string, unknown>, deps: WardenDeps): void {
  try {
    new BlobStore(blobDir(deps.overlay!.state_dir)).keep(args);
  } catch (err) {
    deps.log(`trajectory: a content of this call could not be kept for replay: ${(err as Error).message}`);
  }
}

/** Failures that are not policy decisions (bad input, missing files, bugs) are audited as errors. */
function isError(rule: string): boolean {
  return /^(fs|input|edit|tool|internal)[._]/.test(rule);
}
