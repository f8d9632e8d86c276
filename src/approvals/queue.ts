import { randomBytes } from "node:crypto";
import type { ApprovalBinding, ApprovalEvent, ApprovalListener, ApprovalOutcome } from "./types.js";

/** What an operator sees of one queued call (GET /api/v1/approvals, `warden approvals list`). */
export interface QueuedApproval {
  id: string;
  state: "pending" | "approved" | "denied" | "expired" | "cancelled";
  created_at: string;
  tool: string;
  rule: string;
  /** The question, redacted like audit records. */
  question: string;
  binding: ApprovalBinding;
  answered_at?: string;
}

/** An operator's answer that could not be taken: the HTTP status and a message naming the fix. */
export interface AnswerRefusal {
  ok: false;
  status: 400 | 404 | 409 | 410;
  code: string;
  message: string;
}

/** The operator's decision as it reached the waiting call. */
export type QueueAnswer = "approve" | "deny" | "timeout" | "cancel";

interface Entry {
  view: QueuedApproval;
  settle(answer: QueueAnswer): void;
  timer: NodeJS.Timeout;
}

const ID = /^[0-9a-f]{16}$/;
/** Answered questions kept to tell a second answer (409) and a late one (410) from an unknown id (404). */
const KEEP_ANSWERED = 1000;

/**
 * The operator queue: calls that matched an ask rule and whose client cannot be asked wait here
 * until an operator approves or denies them, or their binding expires. One per server (built in
 * deps, no module state); every transition is reported to the listeners (metrics, logs).
 */
export class ApprovalQueue {
  private readonly entries = new Map<string, Entry>();
  private readonly done = new Map<string, QueuedApproval>();
  private readonly listeners = new Set<ApprovalListener>();
  private operators = 0;

  /** Whether an operator can answer at all (an HTTP server or --approvals-port is up). */
  hasOperator(): boolean {
    return this.operators > 0;
  }

  /** Called by each operator channel when it starts; the returned function detaches it. */
  attachOperator(): () => void {
    this.operators++;
    let attached = true;
    return () => {
      if (attached) this.operators--;
      attached = false;
    };
  }

  /** Metrics and logs listen here; the returned function unsubscribes. A throwing listener is ignored. */
  subscribe(listener: ApprovalListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** How many calls wait now. */
  pending(): number {
    return this.entries.size;
  }

  /** Pending calls first (oldest first), then the recently answered ones when `all`. */
  list(all = false): QueuedApproval[] {
    const pending = [...this.entries.values()].map((e) => ({ ...e.view }));
    return all ? [...pending, ...[...this.done.values()].reverse()] : pending;
  }

  /**
   * Queues a question; `answer` settles once: with the operator's decision, "timeout" at the
   * binding's expiry, or "cancel" when `signal` aborts (the client gave up).
   */
  enqueue(item: { tool: string; rule: string; question: string; binding: ApprovalBinding }, signal?: AbortSignal, now = Date.now()): { id: string; answer: Promise<QueueAnswer> } {
    const id = randomBytes(8).toString("hex");
    const view: QueuedApproval = { id, state: "pending", created_at: new Date(now).toISOString(), ...item };
    let resolve!: (a: QueueAnswer) => void;
    const answer = new Promise<QueueAnswer>((r) => (resolve = r));
    const settle = (a: QueueAnswer) => {
      const entry = this.entries.get(id);
      if (!entry) return;
      clearTimeout(entry.timer);
      signal?.removeEventListener("abort", onAbort);
      this.entries.delete(id);
      view.state = a === "approve" ? "approved" : a === "deny" ? "denied" : a === "timeout" ? "expired" : "cancelled";
      view.answered_at = new Date().toISOString();
      this.remember(view);
      resolve(a);
    };
    const onAbort = () => settle("cancel");
    const timer = setTimeout(() => settle("timeout"), Math.max(0, Date.parse(item.binding.expires_at) - now));
    timer.unref?.();
    this.entries.set(id, { view, settle, timer });
    if (signal?.aborted) queueMicrotask(onAbort);
    else signal?.addEventListener("abort", onAbort, { once: true });
    this.emit({ type: "asked", id, channel: "queue", pending: this.entries.size });
    return { id, answer };
  }

  /**
   * An operator's answer. Unknown ids are 404, a second answer 409, an answer after the expiry 410;
   * none of them touches any call.
   */
  answer(id: string, decision: unknown): { ok: true; approval: QueuedApproval } | AnswerRefusal {
    if (decision !== "approve" && decision !== "deny") {
      return { ok: false, status: 400, code: "bad_decision", message: `decision must be "approve" or "deny", got ${JSON.stringify(decision) ?? "nothing"}: send {"decision": "approve"}` };
    }
    if (!ID.test(id)) return { ok: false, status: 404, code: "unknown_approval", message: `${JSON.stringify(id)} is not an approval id (16 hex digits); list them with GET /api/v1/approvals` };
    const entry = this.entries.get(id);
    if (!entry) {
      const old = this.done.get(id);
      if (!old) return { ok: false, status: 404, code: "unknown_approval", message: `no approval ${id}; list the pending ones with GET /api/v1/approvals` };
      if (old.state === "expired") return { ok: false, status: 410, code: "approval_expired", message: `approval ${id} expired at ${old.binding.expires_at} and the call was denied; the client must call again` };
      if (old.state === "cancelled") return { ok: false, status: 410, code: "approval_cancelled", message: `approval ${id} is gone: the client cancelled the call` };
      return { ok: false, status: 409, code: "approval_answered", message: `approval ${id} was already answered (${old.state} at ${old.answered_at}); nothing was changed` };
    }
    if (Date.now() > Date.parse(entry.view.binding.expires_at)) {
      entry.settle("timeout");
      return { ok: false, status: 410, code: "approval_expired", message: `approval ${id} expired at ${entry.view.binding.expires_at} and the call was denied; the client must call again` };
    }
    const view = entry.view;
    entry.settle(decision);
    return { ok: true, approval: { ...view } };
  }

  /** Reports a settled question (elicitation answers too), for metrics. */
  report(id: string, channel: "elicitation" | "queue" | "none", outcome: ApprovalOutcome): void {
    this.emit({ type: "answered", id, channel, outcome, pending: this.entries.size });
  }

  /** Denies every waiting call (server shutdown). */
  close(): void {
    for (const entry of [...this.entries.values()]) entry.settle("cancel");
  }

  private remember(view: QueuedApproval): void {
    this.done.set(view.id, view);
    if (this.done.size > KEEP_ANSWERED) this.done.delete(this.done.keys().next().value!);
  }

  private emit(event: ApprovalEvent): void {
    for (const l of this.listeners) {
      try {
        l(event);
      } catch {
        // A metrics listener never decides a call.
      }
    }
  }
}
