import type { AuditRecord } from "./types.js";

/** Filters of `GET /api/v1/audit`, the SSE stream and `warden audit tail|query|stats`. */
export interface AuditFilter {
  /** Inclusive lower bound on `time` (ms since the epoch). */
  since?: number;
  /** Exclusive upper bound on `time`. */
  until?: number;
  tool?: string[];
  decision?: ("allow" | "deny" | "error" | "intent")[];
  /** Exact rule names, or a prefix ending in `*` (`commands.*`). */
  rule?: string[];
  session?: string;
  request?: string;
}

/** A page of records: `cursor` continues after the last seq given (ascending) or before the first (descending). */
export interface AuditPage {
  limit: number;
  cursor?: number;
  order: "asc" | "desc";
}

/** Bad filter input: the message names the parameter, what was wrong and what is accepted. */
export class AuditFilterError extends Error {
  override name = "AuditFilterError";
}

const FILTER_KEYS = ["since", "until", "tool", "decision", "rule", "session", "request"] as const;
const PAGE_KEYS = ["limit", "cursor", "order"] as const;
const DECISIONS = new Set(["allow", "deny", "error", "intent"]);
const DURATION = /^(\d+)(s|m|h|d)$/;
const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
/** Session, request and tool ids are short printable tokens; anything else is a typo or an attack on a log viewer. */
const TOKEN = /^[\w.:@/[\]-]{1,200}$/;
export const MAX_PAGE = 1000;

/**
 * Parses filter parameters (query string or CLI flags, all strings). `extra` names other parameters
 * the caller accepts; any other name is refused, so a misspelt filter never silently matches everything.
 */
export function parseAuditFilter(params: Iterable<[string, string]>, now = Date.now(), extra: readonly string[] = []): AuditFilter {
  const f: AuditFilter = {};
  const seen = new Set<string>();
  for (const [key, raw] of params) {
    if ((PAGE_KEYS as readonly string[]).includes(key) || extra.includes(key)) continue;
    if (!(FILTER_KEYS as readonly string[]).includes(key)) throw new AuditFilterError(`unknown filter "${key}": use ${[...FILTER_KEYS, ...PAGE_KEYS, ...extra].join(", ")}`);
    if (seen.has(key)) throw new AuditFilterError(`filter "${key}" is given twice: give it once (lists are comma-separated)`);
    seen.add(key);
    const value = raw.trim();
    if (value === "") throw new AuditFilterError(`filter "${key}" is empty: give a value or leave it out`);
    switch (key) {
      case "since":
      case "until":
        f[key] = parseTime(key, value, now);
        break;
      case "decision": {
        const list = value.split(",").map((v) => v.trim());
        const bad = list.find((v) => !DECISIONS.has(v));
        if (bad !== undefined) throw new AuditFilterError(`decision "${bad}" is not one of allow, deny, error, intent`);
        f.decision = list as AuditFilter["decision"];
        break;
      }
      case "tool":
      case "rule":
        f[key] = list(key, value);
        break;
      default:
        f[key as "session" | "request"] = token(key, value);
    }
  }
  if (f.since !== undefined && f.until !== undefined && f.since >= f.until) {
    throw new AuditFilterError(`since (${new Date(f.since).toISOString()}) is not before until (${new Date(f.until).toISOString()})`);
  }
  return f;
}

/** Parses limit (1..MAX_PAGE, default `defaultLimit`), cursor (a seq) and order (asc|desc). */
export function parseAuditPage(params: URLSearchParams | Map<string, string>, defaultLimit = 100): AuditPage {
  const limitRaw = params.get("limit");
  const cursorRaw = params.get("cursor");
  const order = params.get("order") ?? "asc";
  if (order !== "asc" && order !== "desc") throw new AuditFilterError(`order "${order}" is not asc or desc`);
  const limit = limitRaw === null || limitRaw === undefined ? defaultLimit : integer("limit", limitRaw);
  if (limit < 1 || limit > MAX_PAGE) throw new AuditFilterError(`limit ${limit} is out of range: give 1 to ${MAX_PAGE}`);
  return { limit, order, ...(cursorRaw !== null && cursorRaw !== undefined ? { cursor: integer("cursor", cursorRaw) } : {}) };
}

/** Whether a stored record passes the filter. */
export function matchesFilter(r: AuditRecord, f: AuditFilter): boolean {
  if (f.since !== undefined || f.until !== undefined) {
    const t = Date.parse(r.time);
    if (f.since !== undefined && !(t >= f.since)) return false;
    if (f.until !== undefined && !(t < f.until)) return false;
  }
  if (f.tool && !f.tool.includes(r.tool)) return false;
  if (f.decision && !f.decision.includes(decisionOf(r))) return false;
  if (f.rule && !(r.rule !== undefined && f.rule.some((p) => (p.endsWith("*") ? r.rule!.startsWith(p.slice(0, -1)) : r.rule === p)))) return false;
  if (f.session !== undefined && r.session !== f.session) return false;
  if (f.request !== undefined && r.request !== f.request) return false;
  return true;
}

/** An intent has no decision yet: it is its own kind for filters. */
export function decisionOf(r: AuditRecord): "allow" | "deny" | "error" | "intent" {
  return r.phase === "intent" ? "intent" : (r.decision ?? "error");
}

function parseTime(key: string, value: string, now: number): number {
  const d = DURATION.exec(value);
  if (d) return now - Number(d[1]) * UNIT_MS[d[2]!]!;
  const t = /^\d{4}-\d{2}-\d{2}/.test(value) ? Date.parse(value) : NaN;
  if (Number.isNaN(t)) throw new AuditFilterError(`${key} "${value}" is not a time: give an ISO 8601 time (2026-12-04T10:00:00Z) or an age (30s, 15m, 2h, 7d)`);
  return t;
}

function list(key: string, value: string): string[] {
  return value.split(",").map((v) => token(key, v.trim()));
}

function token(key: string, value: string): string {
  if (!TOKEN.test(value.replace(/\*$/, ""))) throw new AuditFilterError(`${key} "${value.slice(0, 60)}" has characters an id never has: letters, digits and . _ - : @ / [ ] only`);
  return value;
}

function integer(key: string, value: string): number {
  if (!/^\d{1,15}$/.test(value)) throw new AuditFilterError(`${key} "${value.slice(0, 30)}" is not a non-negative integer`);
  return Number(value);
}
