import type { IncomingMessage, ServerResponse } from "node:http";
import type { ApprovalServices } from "../../../approvals/gate.js";
import { HttpError, sendJson } from "../respond.js";

/**
 * The operator's side of the approval queue. Always behind a bearer token, even on loopback: a
 * command an agent runs could otherwise reach 127.0.0.1 and approve its own calls.
 */
export function approvalsApi(approvals: ApprovalServices | undefined, hasToken: boolean) {
  const queue = () => {
    if (!approvals) throw new HttpError(503, "approvals_unavailable", "this server has no approval queue");
    if (!hasToken) {
      throw new HttpError(403, "approvals_need_token", "approvals are answered only with a bearer token: start the server with --token-file FILE or WARDEN_TOKEN");
    }
    return approvals.queue;
  };
  return {
    /** GET /api/v1/approvals[?all=1]: pending calls (and with all=1 the recently answered ones). */
    list(_req: IncomingMessage, res: ServerResponse, url: URL): void {
      const all = url.searchParams.get("all");
      if (all !== null && all !== "1" && all !== "0") throw new HttpError(400, "invalid_filter", `all must be 1 or 0, got ${JSON.stringify(all)}`);
      const q = queue();
      sendJson(res, 200, { pending: q.pending(), approvals: q.list(all === "1") });
    },
    /** POST /api/v1/approvals/{id} with {"decision": "approve" | "deny"}: 404 unknown, 409 answered, 410 expired. */
    answer(_req: IncomingMessage, res: ServerResponse, id: string, body: unknown): void {
      const q = queue();
      if (body === null || typeof body !== "object" || Array.isArray(body) || Object.keys(body).some((k) => k !== "decision")) {
        throw new HttpError(400, "invalid_request", 'the body must be {"decision": "approve"} or {"decision": "deny"}');
      }
      const result = q.answer(id, (body as { decision?: unknown }).decision);
      if (!result.ok) throw new HttpError(result.status, result.code, result.message);
      sendJson(res, 200, { approval: result.approval });
    },
  };
}
