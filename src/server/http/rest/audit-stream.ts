import type { IncomingMessage, ServerResponse } from "node:http";
import { matchesFilter } from "../../../audit/query.js";
import { readAuditRecords } from "../../../audit/read-records.js";
import type { AuditRecord } from "../../../audit/types.js";
import type { WardenDeps } from "../../deps.js";
import { HttpError, type RequestContext } from "../respond.js";
import { auditLogOf, filterOf } from "./audit.js";

/** A reader this far behind (bytes queued) is cut off; it resumes with Last-Event-ID. */
const MAX_QUEUED_BYTES = 8 * 1024 * 1024;

/**
 * GET /api/v1/audit/stream: Server-Sent Events, one `record` event per matching audit record, its
 * `id` the record's seq. With `Last-Event-ID: N` the stream first replays the log's records after
 * seq N, then continues live with no gap and no repeat (live records are held while the log is
 * read). A comment line every `heartbeatMs` keeps proxies and clients from timing out.
 */
export async function handleAuditStream(req: IncomingMessage, res: ServerResponse, ctx: RequestContext, deps: WardenDeps, heartbeatMs: number): Promise<void> {
  const log = auditLogOf(deps);
  const filter = filterOf(ctx);
  const lastHeader = req.headers["last-event-id"];
  let after: number | undefined;
  if (lastHeader !== undefined) {
    if (typeof lastHeader !== "string" || !/^\d{1,15}$/.test(lastHeader.trim())) throw new HttpError(400, "invalid_filter", "Last-Event-ID must be a record seq (a non-negative integer)");
    after = Number(lastHeader.trim());
  }
  const head = deps.ops.feed.head()?.seq ?? 0;
  res.writeHead(200, { "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-store", connection: "keep-alive", "x-accel-buffering": "no", "x-audit-head": String(head) });
  res.write(`retry: 2000\n: connected, chain head ${head}\n\n`);

  let sent = after ?? head;
  let held: AuditRecord[] | null = [];
  const send = (r: AuditRecord) => {
    if (r.seq <= sent) return;
    sent = r.seq;
    if (!matchesFilter(r, filter)) return;
    res.write(`id: ${r.seq}\nevent: record\ndata: ${JSON.stringify(r)}\n\n`);
    if (res.writableLength > MAX_QUEUED_BYTES) res.destroy();
  };
  const unsubscribe = deps.ops.feed.subscribe({ record: (r) => (held ? held.push(r) : send(r)) });
  const heartbeat = setInterval(() => res.write(`: heartbeat ${sent}\n\n`), heartbeatMs);
  heartbeat.unref();
  res.once("close", () => {
    unsubscribe();
    clearInterval(heartbeat);
  });
  if (after !== undefined && after < head) {
    for await (const r of readAuditRecords(log, after)) {
      if (res.destroyed) return;
      send(r);
    }
  }
  const pending = held;
  held = null;
  for (const r of pending) send(r);
}
