import type { Decision } from "../policy/decision.js";

/** How a question ended. `approved` is the only one that lets the call run. */
export type ApprovalOutcome = "approved" | "denied" | "declined" | "cancelled" | "timeout" | "error" | "unavailable";

/** Where the question was asked: the MCP client itself (elicitation) or the operator queue. */
export type ApprovalChannel = "elicitation" | "queue" | "none";

/**
 * What one approval is good for: exactly this call (session, tool, sha256 of the canonical
 * arguments) under exactly this policy, until `expires_at`. Checked again when the call goes on.
 */
export interface ApprovalBinding {
  session: string | null;
  tool: string;
  args_sha256: string;
  policy_sha256: string;
  expires_at: string;
}

/** A call that matched an ask rule, as the tool layer hands it over. */
export interface ApprovalRequest {
  tool: string;
  /** The call's arguments as given (hashed for the binding; redacted for the question). */
  args: Record<string, unknown>;
  /** The ask rule(s) that matched and why. */
  rule: string;
  reason: string;
}

/** The answer the tool layer acts on: allow only after an approval, `approval` naming it. */
export type ApprovalVerdict = Decision & { approval?: string };

/** Asks a human about one call; never throws (every failure is a denial naming the rule). */
export type Approver = (request: ApprovalRequest) => Promise<ApprovalVerdict>;

/** What the queue and the gate report, for metrics (mcp_warden_approvals_total / _pending) and logs. */
export type ApprovalEvent =
  | { type: "asked"; id: string; channel: ApprovalChannel; pending: number }
  | { type: "answered"; id: string; channel: ApprovalChannel; outcome: ApprovalOutcome; pending: number };

export type ApprovalListener = (event: ApprovalEvent) => void;
