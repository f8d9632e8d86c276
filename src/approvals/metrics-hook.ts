import type { ApprovalQueue } from "./queue.js";

/** The shape the metrics side offers (mcp_warden_approvals_total{outcome}, mcp_warden_approvals_pending). */
export interface ApprovalCounters {
  answered(outcome: string): void;
  pending(count: number): void;
}

/**
 * Feeds a queue's events to the metrics: one `answered` per question (both channels, with how it
 * ended: approved, denied, declined, cancelled, timeout, error, unavailable) and `pending` on every
 * change. Returns the unsubscribe function. The queue never imports the metrics library.
 */
export function connectApprovalMetrics(queue: ApprovalQueue, counters: ApprovalCounters): () => void {
  return queue.subscribe((event) => {
    if (event.type === "answered") counters.answered(event.outcome);
    counters.pending(event.pending);
  });
}
