import { randomBytes } from "node:crypto";
import { recordCall } from "../audit/call-audit.js";
import { NULL_AUDIT_SINK } from "../audit/memory-sink.js";
import { redactArgs, redactText } from "../audit/redact.js";
import type { AuditEntry, AuditSink } from "../audit/types.js";
import { allow, deny } from "../policy/decision.js";
import type { Policy } from "../policy/schema/index.js";
import { bindApproval, bindingMismatch } from "./binding.js";
import type { ApprovalQueue } from "./queue.js";
import type { ApprovalBinding, ApprovalChannel, ApprovalOutcome, ApprovalRequest, ApprovalVerdict, Approver } from "./types.js";

/** The form question's answer, as the MCP client returned it (ElicitResult without the SDK type). */
export interface ElicitAnswer {
  action: "accept" | "decline" | "cancel";
  content?: Record<string, unknown>;
}

/** The elicitation request this gate sends: one boolean, "Approve once". */
export interface ElicitForm {
  mode: "form";
  message: string;
  requestedSchema: { type: "object"; properties: Record<string, { type: "boolean"; title: string; description: string; default: boolean }>; required: string[] };
}

/** What the approvals need from the server, built once per process. */
export interface ApprovalServices {
  queue: ApprovalQueue;
  audit: AuditSink;
  policy: Policy;
  /** sha256 of the policy in force (binding.ts). */
  policySha256: string;
}

/** One call's side: who asks, and how this client can be reached. */
export interface ApprovalCall {
  session: string | null;
  transport?: string;
  client?: string;
  signal?: AbortSignal;
  /** Sends a progress notification (a no-op when the client gave no progressToken). */
  progress?: (progress: number, message: string) => Promise<void>;
  /** Present when the client declared form elicitation: asks it, rejecting on an error or the timeout. */
  elicit?: (form: ElicitForm, timeoutMs: number) => Promise<ElicitAnswer>;
}

const FIELD = "approve";
/** The tool name of approval records in the audit log. */
export const APPROVAL_TOOL = "approval";

/**
 * The approver of one call. The question, the answer and (by the caller) the execution are three
 * separate records in the audit chain; the question is written before anyone is asked and the
 * answer before the call goes on, so a log that cannot take them denies. Every way of not getting
 * a clear yes (decline, cancel, an error, no answer before the binding expires, no channel) is a
 * denial naming the ask rule.
 */
export function createApprover(services: ApprovalServices, call: ApprovalCall): Approver {
  const { queue, audit, policy } = services;
  const timeoutMs = policy.approvals.timeout_s * 1000;
  const who = { ...(call.transport ? { transport: call.transport } : {}), ...(call.client ? { client: call.client } : {}), session: call.session };

  return async (request: ApprovalRequest): Promise<ApprovalVerdict> => {
    const binding = bindApproval({ session: call.session, tool: request.tool, args: request.args }, services.policySha256, timeoutMs, Date.now());
    const question = questionText(request, policy.audit.redact_keys);
    const channel: ApprovalChannel = call.elicit ? "elicitation" : queue.hasOperator() ? "queue" : "none";
    if (channel === "none") {
      const verdict = refusal(request, "unavailable", "this client cannot be asked (no form elicitation) and no operator channel is open: run `warden serve --http` or `--approvals-port`, see docs/OPERATIONS.md");
      await record(audit, "unasked", "", { tool: request.tool, rule: request.rule, channel, outcome: "unavailable" }, "deny", request.rule, binding, who);
      queue.report("-", "none", "unavailable");
      return verdict;
    }

    let id = "";
    let answered: Promise<{ outcome: ApprovalOutcome; detail: string }>;
    if (channel === "elicitation") {
      id = randomBytes(8).toString("hex");
      if (!(await record(audit, "question", id, { approval: id, tool: request.tool, rule: request.rule, channel, question }, undefined, request.rule, binding, who))) {
        return deny("audit.unavailable", `${request.rule}: the question could not be recorded in the audit log, so it was not asked`);
      }
      answered = askClient(call, question, timeoutMs);
    } else {
      const queued = queue.enqueue({ tool: request.tool, rule: request.rule, question, binding }, call.signal);
      id = queued.id;
      if (!(await record(audit, "question", id, { approval: id, tool: request.tool, rule: request.rule, channel, question }, undefined, request.rule, binding, who))) {
        queue.answer(id, "deny");
        return deny("audit.unavailable", `${request.rule}: the question could not be recorded in the audit log, so it was not asked`);
      }
      answered = waitInQueue(queued.answer, id, call, services.policy.approvals.progress_interval_s * 1000);
    }

    let { outcome, detail } = await answered;
    // The approval covers this call only if it still matches it (and has not expired meanwhile).
    const mismatch = outcome === "approved" ? bindingMismatch(binding, { session: call.session, tool: request.tool, args: request.args }, services.policySha256, Date.now()) : null;
    if (mismatch) [outcome, detail] = ["timeout", mismatch];
    const ok = outcome === "approved";
    const written = await record(audit, "answer", id, { approval: id, tool: request.tool, rule: request.rule, channel, outcome, detail }, ok ? "allow" : "deny", request.rule, binding, who);
    queue.report(id, channel, outcome);
    if (ok && !written) return deny("audit.unavailable", `${request.rule}: approval ${id} could not be recorded in the audit log, so the call was not run`);
    return ok ? { ...allow(request.rule, `approved (${channel}, approval ${id})`), approval: id } : refusal(request, outcome, `${detail} (approval ${id})`);
  };
}

/** The question as a human reads it: tool, redacted arguments, the rule and why. */
export function questionText(request: ApprovalRequest, redactKeys: readonly string[]): string {
  const args = redactArgs(request.args, redactKeys);
  const what = typeof args.command === "string" ? `run: ${redactText(args.command, redactKeys)}` : `${request.tool} ${JSON.stringify(args)}`;
  return `${request.tool} wants to ${what.startsWith("run: ") ? what : `call ${what}`}\nRule ${request.rule}: ${redactText(request.reason, redactKeys)}`;
}

function refusal(request: ApprovalRequest, outcome: ApprovalOutcome, detail: string): ApprovalVerdict {
  return deny(request.rule, `not approved (${outcome}): ${request.rule} needs a human's approval: ${detail}`);
}

/** The MCP client's own user answers one boolean; only accept with true approves. */
async function askClient(call: ApprovalCall, question: string, timeoutMs: number): Promise<{ outcome: ApprovalOutcome; detail: string }> {
  const form: ElicitForm = {
    mode: "form",
    message: question,
    requestedSchema: {
      type: "object",
      properties: { [FIELD]: { type: "boolean", title: "Approve once", description: "Run this exact call once.", default: false } },
      required: [FIELD],
    },
  };
  try {
    const answer = await call.elicit!(form, timeoutMs);
    if (answer.action === "accept" && answer.content?.[FIELD] === true) return { outcome: "approved", detail: "accepted" };
    if (answer.action === "accept") return { outcome: "declined", detail: "the client accepted without ticking Approve once" };
    if (answer.action === "decline") return { outcome: "declined", detail: "the client declined" };
    return { outcome: "cancelled", detail: "the client cancelled the question" };
  } catch (err) {
    const message = (err as Error).message ?? String(err);
    const timedOut = /timed out|timeout/i.test(message);
    return { outcome: timedOut ? "timeout" : "error", detail: timedOut ? `no answer within ${timeoutMs / 1000} s` : `the question failed: ${message}` };
  }
}

/** Waits for the operator, sending progress so the client's request timeout does not fire. */
async function waitInQueue(answer: Promise<string>, id: string, call: ApprovalCall, intervalMs: number): Promise<{ outcome: ApprovalOutcome; detail: string }> {
  let step = 0;
  const tick = () => void call.progress?.(++step, `waiting for an operator to approve ${id} (warden approvals approve ${id})`).catch(() => undefined);
  tick();
  const timer = setInterval(tick, intervalMs);
  try {
    const a = await answer;
    if (a === "approve") return { outcome: "approved", detail: "approved by an operator" };
    if (a === "deny") return { outcome: "denied", detail: "denied by an operator" };
    if (a === "timeout") return { outcome: "timeout", detail: "no operator answered before the approval expired" };
    return { outcome: "cancelled", detail: "the call was cancelled while it waited" };
  } finally {
    clearInterval(timer);
  }
}

/**
 * One chained audit record of the approval; false when the log could not take it. The question is
 * an intent (id = the approval id, synced) and the answer its outcome, both under the tool name
 * `approval`, so `warden audit verify` lists a question that never got an answer as an open intent.
 * A question that could not be asked at all is one record.
 */
async function record(
  audit: AuditSink,
  kind: "question" | "answer" | "unasked",
  id: string,
  args: Record<string, unknown>,
  decision: "allow" | "deny" | undefined,
  rule: string,
  binding: ApprovalBinding,
  who: { transport?: string; client?: string; session: string | null },
): Promise<boolean> {
  if (audit === NULL_AUDIT_SINK) return true;
  const entry: AuditEntry = {
    ...(kind === "unasked" ? {} : { id, phase: kind === "question" ? ("intent" as const) : ("outcome" as const) }),
    time: new Date().toISOString(),
    tool: APPROVAL_TOOL,
    args: { ...args, binding },
    ...(decision ? { decision } : {}),
    rule,
    ...who,
  };
  if (kind !== "question") return (await recordCall(audit, entry)).ok;
  try {
    await audit.record(entry, { durable: true });
    return true;
  } catch {
    return false;
  }
}
