import type { ServerResponse } from "node:http";
import type { WardenDeps } from "../deps.js";
import { dashboardFiles } from "./dashboard/serve-dashboard.js";
import { handleAuditQuery, handleAuditStats, handleAuditVerify, handleSessions, handleStatus } from "./rest/audit.js";
import { handleAuditStream } from "./rest/audit-stream.js";
import { handleReady } from "./rest/ready.js";
import type { Route } from "./route-table.js";

export interface OpsRouteOptions {
  /** Whether the server is shutting down (readiness fails). */
  draining: () => boolean;
  /** SSE heartbeat interval; default 15 s. */
  heartbeatMs?: number;
}

/**
 * The operator's routes: readiness, metrics, audit queries, the live stream, sessions and the
 * dashboard (route-table.ts patterns).
 */
export function opsRoutes(deps: WardenDeps, opts: OpsRouteOptions): Record<string, Route> {
  const dashboard = dashboardFiles();
  const metrics = async (res: ServerResponse) => {
    const { text, contentType } = await deps.ops.metrics.expose();
    res.writeHead(200, { "content-type": contentType, "cache-control": "no-store" });
    res.end(text);
  };
  const get = (handle: Route["handle"], extra: Partial<Route> = {}): Route => ({ methods: ["GET"], handle, ...extra });
  return {
    "/ready": get((_req, res) => handleReady(res, deps, opts.draining()), { public: true }),
    "/metrics": get((_req, res) => metrics(res)),
    "/api/v1/status": get((_req, res) => handleStatus(res, deps)),
    "/api/v1/audit": get((_req, res, ctx) => handleAuditQuery(res, ctx, deps)),
    "/api/v1/audit/stats": get((_req, res, ctx) => handleAuditStats(res, ctx, deps)),
    "/api/v1/audit/verify": get((_req, res) => handleAuditVerify(res, deps)),
    "/api/v1/audit/stream": get((req, res, ctx) => handleAuditStream(req, res, ctx, deps, opts.heartbeatMs ?? 15_000), { stream: true }),
    "/api/v1/sessions": get((_req, res, ctx) => handleSessions(res, ctx, deps)),
    "/api/v1/sessions/{id}": get((_req, res, ctx) => handleSessions(res, ctx, deps)),
    "/dashboard": get((_req, res) => dashboard(res, null), { public: true }),
    "/dashboard/": get((_req, res) => dashboard(res, "index.html"), { public: true }),
    "/dashboard/{file}": get((_req, res, ctx) => dashboard(res, ctx.params.file!), { public: true }),
  };
}
