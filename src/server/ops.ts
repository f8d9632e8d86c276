import { createHash } from "node:crypto";
import { canonicalJson } from "../audit/canonical-json.js";
import { AuditFeed } from "../audit/feed.js";
import type { Policy } from "../policy/schema/index.js";
import { createWardenMetrics, type WardenMetrics } from "./http/metrics/warden-metrics.js";

/** What operators watch: the live audit feed and the metrics. One per server process (deps). */
export interface Ops {
  feed: AuditFeed;
  metrics: WardenMetrics;
  /** sha256 of the loaded policy's canonical JSON: the dashboard, /ready and policy_info show it. */
  policySha256: string;
}

export function policySha256(policy: Policy): string {
  return createHash("sha256").update(canonicalJson(policy)).digest("hex");
}

export function createOps(feed: AuditFeed, opts: { version: string; backend: string; policy: Policy }): Ops {
  const sha = policySha256(opts.policy);
  return { feed, policySha256: sha, metrics: createWardenMetrics({ version: opts.version, backend: opts.backend, policySha256: sha, feed }) };
}
