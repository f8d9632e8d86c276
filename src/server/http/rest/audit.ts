import type { ServerResponse } from "node:http";
import { AuditFilterError, matchesFilter, parseAuditFilter, parseAuditPage } from "../../../audit/query.js";
import { queryAuditLog, readAuditRecords } from "../../../audit/read-records.js";
import { AuditStatsBuilder, SessionsBuilder } from "../../../audit/summary.js";
import type { AuditRecord } from "../../../audit/types.js";
import { verifyAuditLog } from "../../../audit/verify.js";
import { commandBridge } from "../../../exec/services.js";
import type { WardenDeps } from "../../deps.js";
import { HttpError, sendJson, type RequestContext } from "../respond.js";

/** Most records one session timeline returns (the CLI reads the whole log). */
const MAX_TIMELINE = 10_000;

/** The log the audit routes read, or a 404 that says how to get one. */
export function auditLogOf(deps: WardenDeps): string {
  if (!deps.auditFiles) throw new HttpError(404, "no_audit_log", "this server keeps no audit log: start it with --audit-log FILE (or WARDEN_AUDIT_LOG, or the policy's audit.file)");
  return deps.auditFiles.log;
}

/** Parses filters, turning bad input into a 400 that names it. */
export function filterOf(ctx: RequestContext, extra: readonly string[] = []) {
  try {
    return parseAuditFilter(ctx.url.searchParams, Date.now(), extra);
  } catch (err) {
    throw badFilter(err);
  }
}

function badFilter(err: unknown): unknown {
  return err instanceof AuditFilterError ? new HttpError(400, "invalid_filter", err.message) : err;
}

/** GET /api/v1/audit: one page of matching records (`cursor` from `next_cursor`; `order=desc` for newest first). */
export async function handleAuditQuery(res: ServerResponse, ctx: RequestContext, deps: WardenDeps): Promise<void> {
  const log = auditLogOf(deps);
  const filter = filterOf(ctx);
  let page;
  try {
    page = parseAuditPage(ctx.url.searchParams);
  } catch (err) {
    throw badFilter(err);
  }
  sendJson(res, 200, await queryAuditLog(log, filter, page));
}

/** GET /api/v1/audit/stats: counts by decision and tool, and the top denying rules, for the filtered records. */
export async function handleAuditStats(res: ServerResponse, ctx: RequestContext, deps: WardenDeps): Promise<void> {
  const log = auditLogOf(deps);
  const filter = filterOf(ctx, ["top"]);
  const top = Number(ctx.url.searchParams.get("top") ?? 10);
  if (!Number.isInteger(top) || top < 1 || top > 100) throw new HttpError(400, "invalid_filter", "top must be an integer from 1 to 100");
  const stats = new AuditStatsBuilder();
  for await (const r of readAuditRecords(log)) if (matchesFilter(r, filter)) stats.add(r);
  sendJson(res, 200, stats.result(top));
}

/** GET /api/v1/audit/verify: the chain check of `warden audit verify`, for the dashboard. */
export async function handleAuditVerify(res: ServerResponse, deps: WardenDeps): Promise<void> {
  const files = deps.auditFiles;
  if (!files) auditLogOf(deps);
  sendJson(res, 200, await verifyAuditLog(files!.log, { key: files!.key, head: files!.head }));
}

/** GET /api/v1/status: what the dashboard's health panel shows (backend, policy hash, chain head). */
export function handleStatus(res: ServerResponse, deps: WardenDeps): void {
  const bridge = commandBridge(deps.services)?.describe();
  sendJson(res, 200, {
    version: deps.version,
    backend: bridge?.backend ?? deps.policy.execution.backend,
    confinement: bridge?.confinement ?? null,
    policy_sha256: deps.ops.policySha256,
    audit_log: deps.auditFiles !== null,
    chain_head: deps.ops.feed.head(),
    last_audit_error: deps.ops.feed.lastError,
    uptime_s: Math.round((Date.now() - deps.startedAt) / 1000),
  });
}

/** GET /api/v1/sessions (most recent first, filters apply) and GET /api/v1/sessions/{id} (its timeline). */
export async function handleSessions(res: ServerResponse, ctx: RequestContext, deps: WardenDeps): Promise<void> {
  const log = auditLogOf(deps);
  const id = ctx.params.id;
  if (id === undefined) {
    const filter = filterOf(ctx);
    const sessions = new SessionsBuilder();
    for await (const r of readAuditRecords(log)) if (matchesFilter(r, filter)) sessions.add(r);
    sendJson(res, 200, { sessions: sessions.result() });
    return;
  }
  const filter = filterOf(ctx);
  const builder = new SessionsBuilder();
  const records: AuditRecord[] = [];
  let truncated = false;
  for await (const r of readAuditRecords(log)) {
    if (r.session !== id || !matchesFilter(r, filter)) continue;
    builder.add(r);
    if (records.length < MAX_TIMELINE) records.push(r);
    else truncated = true;
  }
  const [session] = builder.result();
  if (!session) throw new HttpError(404, "session_not_found", `no records of session ${JSON.stringify(id.slice(0, 100))} in the audit log (GET /api/v1/sessions lists them)`);
  sendJson(res, 200, { session, records, truncated });
}
