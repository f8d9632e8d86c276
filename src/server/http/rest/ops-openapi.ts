type ErrorResponse = (description: string) => unknown;

const FILTERS = [
  ["since", "ISO 8601 time, or an age: 30s, 15m, 2h, 7d"],
  ["until", "same forms; exclusive"],
  ["tool", "tool names, comma-separated"],
  ["decision", "allow, deny, error, intent (comma-separated)"],
  ["rule", "rule names, comma-separated; a trailing * matches a prefix"],
  ["session", "one MCP session id"],
  ["request", "one request id"],
].map(([name, description]) => ({ name, in: "query", required: false, schema: { type: "string" }, description }));

const json = (description: string) => ({ description, content: { "application/json": { schema: { type: "object" } } } });

/** The operator routes in the OpenAPI document (docs/OPERATIONS.md has the prose). */
export function opsOpenApiPaths(errorResponse: ErrorResponse): Record<string, unknown> {
  const authed = (summary: string, extra: Record<string, unknown> = {}, ok: Record<string, unknown> = json("ok")) => ({
    get: { summary, ...extra, responses: { "200": ok, "400": errorResponse("a malformed filter (error.code invalid_filter names it)"), "401": errorResponse("missing or wrong bearer token"), "404": errorResponse("no audit log, or no such session") } },
  });
  return {
    "/ready": { get: { summary: "Readiness: audit log writable, backend reachable, policy loaded. No authentication, no paths.", security: [], responses: { "200": json("ready"), "503": json("not ready: reasons lists why") } } },
    "/metrics": { get: { summary: "Prometheus text exposition (mcp_warden_*).", responses: { "200": { description: "metrics", content: { "text/plain": {} } }, "401": errorResponse("missing or wrong bearer token") } } },
    "/api/v1/status": authed("Version, backend, policy sha256, chain head (the dashboard's health panel)."),
    "/api/v1/audit": authed("One page of audit records: {records, next_cursor}.", {
      parameters: [
        ...FILTERS,
        { name: "limit", in: "query", schema: { type: "integer", minimum: 1, maximum: 1000 } },
        { name: "cursor", in: "query", schema: { type: "integer", minimum: 0 }, description: "next_cursor of the previous page" },
        { name: "order", in: "query", schema: { type: "string", enum: ["asc", "desc"] } },
      ],
    }),
    "/api/v1/audit/stream": authed("Server-Sent Events: one `record` event per audit record, id = seq; send Last-Event-ID to resume.", { parameters: FILTERS }, { description: "event stream", content: { "text/event-stream": {} } }),
    "/api/v1/audit/stats": authed("Counts by decision and tool, and the top denying rules.", { parameters: [...FILTERS, { name: "top", in: "query", schema: { type: "integer", minimum: 1, maximum: 100 } }] }),
    "/api/v1/audit/verify": authed("The keyed chain and head check of `warden audit verify`."),
    "/api/v1/sessions": authed("Sessions in the audit log, newest first.", { parameters: FILTERS }),
    "/api/v1/sessions/{id}": authed("One session's timeline: {session, records, truncated}.", { parameters: [{ name: "id", in: "path", required: true, schema: { type: "string" } }] }),
  };
}
