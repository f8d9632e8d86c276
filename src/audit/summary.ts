import { decisionOf } from "./query.js";
import type { AuditRecord } from "./types.js";

/** Counts over a set of records: what `warden audit stats` prints and the dashboard's "top" panels read. */
export interface AuditStats {
  records: number;
  first: string | null;
  last: string | null;
  by_decision: Record<string, number>;
  by_tool: { tool: string; calls: number; denied: number; errors: number }[];
  /** Rules that denied calls, most frequent first. */
  top_denials: { rule: string; tool: string; count: number }[];
  sessions: number;
}

/** A session as the sessions list shows it. */
export interface SessionSummary {
  id: string;
  transport: string | null;
  client: string | null;
  first: string;
  last: string;
  calls: number;
  denied: number;
  errors: number;
}

/** Accumulates stats record by record (bounded memory: one counter per tool, rule and session). */
export class AuditStatsBuilder {
  private records = 0;
  private first: string | null = null;
  private last: string | null = null;
  private readonly decisions = new Map<string, number>();
  private readonly tools = new Map<string, { calls: number; denied: number; errors: number }>();
  private readonly denials = new Map<string, { rule: string; tool: string; count: number }>();
  private readonly sessionIds = new Set<string>();

  add(r: AuditRecord): void {
    this.records++;
    this.first ??= r.time;
    this.last = r.time;
    const d = decisionOf(r);
    this.decisions.set(d, (this.decisions.get(d) ?? 0) + 1);
    if (r.session) this.sessionIds.add(r.session);
    if (d === "intent") return;
    const t = this.tools.get(r.tool) ?? { calls: 0, denied: 0, errors: 0 };
    t.calls++;
    if (d === "deny") t.denied++;
    if (d === "error") t.errors++;
    this.tools.set(r.tool, t);
    if (d === "deny") {
      const key = `${r.rule}\u0000${r.tool}`;
      const e = this.denials.get(key) ?? { rule: r.rule ?? "", tool: r.tool, count: 0 };
      e.count++;
      this.denials.set(key, e);
    }
  }

  result(top = 10): AuditStats {
    return {
      records: this.records,
      first: this.first,
      last: this.last,
      by_decision: Object.fromEntries(this.decisions),
      by_tool: [...this.tools].map(([tool, c]) => ({ tool, ...c })).sort((a, b) => b.calls - a.calls),
      top_denials: [...this.denials.values()].sort((a, b) => b.count - a.count).slice(0, top),
      sessions: this.sessionIds.size,
    };
  }
}

/** Groups records by session, most recent first. */
export class SessionsBuilder {
  private readonly sessions = new Map<string, SessionSummary>();

  add(r: AuditRecord): void {
    if (!r.session) return;
    let s = this.sessions.get(r.session);
    if (!s) {
      s = { id: r.session, transport: r.transport ?? null, client: r.client ?? null, first: r.time, last: r.time, calls: 0, denied: 0, errors: 0 };
      this.sessions.set(r.session, s);
    }
    s.last = r.time;
    if (r.client && (!s.client || s.client === "unknown")) s.client = r.client;
    const d = decisionOf(r);
    if (d === "intent") return;
    s.calls++;
    if (d === "deny") s.denied++;
    if (d === "error") s.errors++;
  }

  result(): SessionSummary[] {
    return [...this.sessions.values()].sort((a, b) => (a.last < b.last ? 1 : a.last > b.last ? -1 : 0));
  }
}
