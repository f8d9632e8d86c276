import type { RequestHandlerExtra } from "@modelcontextprotocol/sdk/shared/protocol.js";
import { ElicitResultSchema, type ServerNotification, type ServerRequest } from "@modelcontextprotocol/sdk/types.js";
import type { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { createApprover, type ApprovalCall } from "../approvals/gate.js";
import type { Approver } from "../approvals/types.js";
import type { Caller } from "../tools/tool.js";
import type { WardenDeps } from "./deps.js";

/**
 * The approver of one MCP tool call: it asks the client itself when the client declared form
 * elicitation (the request rides the call's own stream), else the operator queue, with progress
 * notifications on the call's progressToken while it waits.
 */
export function mcpApprover(
  deps: WardenDeps,
  server: McpServer,
  extra: RequestHandlerExtra<ServerRequest, ServerNotification>,
  who: Caller,
  progress: (progress: number, message?: string) => Promise<void>,
): Approver | undefined {
  if (!deps.approvals) return undefined;
  const elicitation = server.server.getClientCapabilities()?.elicitation as Record<string, unknown> | undefined;
  // An empty `elicitation: {}` is the older spelling of form support.
  const form = elicitation !== undefined && (elicitation.form !== undefined || elicitation.url === undefined);
  const call: ApprovalCall = {
    session: who.session,
    transport: who.transport,
    client: who.client,
    signal: extra.signal,
    progress: (p, message) => progress(p, message),
    ...(form
      ? {
          elicit: async (params, timeoutMs) => {
            const r = await extra.sendRequest({ method: "elicitation/create", params }, ElicitResultSchema, { timeout: timeoutMs, signal: extra.signal });
            return { action: r.action, ...(r.content ? { content: r.content as Record<string, unknown> } : {}) };
          },
        }
      : {}),
  };
  return createApprover(deps.approvals, call);
}
