import { AuditFeed } from "../audit/feed.js";
import { createWardenMetrics, type WardenMetrics } from "./http/metrics/warden-metrics.js";

/** What operators watch: the live audit feed and the metrics. One per server process (deps). */
export interface Ops {
  feed: AuditFeed;
  metrics: WardenMetrics;
  /** sha256 of the loaded policy's canonical JSON (the one approvals bind to): the dashboard, /ready and policy_info show it. */
  policySha256: string;
}

export function createOps(feed: AuditFeed, opts: { version: string; backend: string; policySha256: string }): Ops {
  return { feed, policySha256: opts.policySha256, metrics: createWardenMetrics({ version: opts.version, backend: opts.backend, policySha256: opts.policySha256, feed }) };
}
