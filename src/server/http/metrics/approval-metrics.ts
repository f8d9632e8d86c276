/**
 * What the approvals queue tells the metrics: `mcp_warden_approvals_total{outcome}` and
 * `mcp_warden_approvals_pending`. The queue calls `answered` once per question with how it ended
 * (approved, denied, expired, cancelled, ...) and `pending` whenever its size changes; it never
 * imports prom-client. `NO_APPROVAL_METRICS` is for queues built without a server (tests, CLI).
 */
export interface ApprovalMetrics {
  answered(outcome: string): void;
  pending(count: number): void;
}

export const NO_APPROVAL_METRICS: ApprovalMetrics = Object.freeze({ answered: () => {}, pending: () => {} });
