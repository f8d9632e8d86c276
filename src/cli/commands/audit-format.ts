import type { AuditStats } from "../../audit/summary.js";
import type { AuditRecord } from "../../audit/types.js";
import { decisionOf } from "../../audit/query.js";

export const CSV_COLUMNS = ["seq", "time", "tool", "decision", "rule", "session", "request", "transport", "client", "duration_ms", "exit_code", "args"] as const;

/** One record as a terminal line: time, seq, decision, tool, rule, session; control characters escaped. */
export function recordLine(r: AuditRecord): string {
  const d = decisionOf(r);
  const parts = [r.time, `#${r.seq}`, d.padEnd(6), r.tool, r.rule ? `[${r.rule}]` : "", r.session ? `session=${r.session}` : "", r.request ? `request=${r.request}` : ""];
  return printable(parts.filter(Boolean).join(" "));
}

/** One CSV row (RFC 4180 quoting); a cell a spreadsheet would run as a formula is prefixed with '. */
export function csvRow(r: AuditRecord): string {
  const cells: Record<(typeof CSV_COLUMNS)[number], unknown> = {
    seq: r.seq,
    time: r.time,
    tool: r.tool,
    decision: decisionOf(r),
    rule: r.rule,
    session: r.session,
    request: r.request,
    transport: r.transport,
    client: r.client,
    duration_ms: r.duration_ms,
    exit_code: r.exit_code,
    args: r.args ? JSON.stringify(r.args) : undefined,
  };
  return CSV_COLUMNS.map((c) => csvCell(cells[c])).join(",");
}

function csvCell(value: unknown): string {
  if (value === undefined || value === null) return "";
  let s = String(value);
  if (/^[=+\-@\t\r]/.test(s) && typeof value !== "number") s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function statsText(s: AuditStats): string {
  const lines = [`${s.records} records${s.first ? ` from ${s.first} to ${s.last}` : ""}, ${s.sessions} sessions`];
  lines.push(`decisions: ${Object.entries(s.by_decision).map(([d, n]) => `${d} ${n}`).join(", ") || "none"}`);
  if (s.by_tool.length) {
    lines.push("tools (calls / denied / errors):");
    for (const t of s.by_tool) lines.push(`  ${t.tool.padEnd(24)} ${String(t.calls).padStart(6)} ${String(t.denied).padStart(6)} ${String(t.errors).padStart(6)}`);
  }
  if (s.top_denials.length) {
    lines.push("top denials (count, rule, tool):");
    for (const d of s.top_denials) lines.push(`  ${String(d.count).padStart(6)}  ${d.rule}  ${d.tool}`);
  }
  return `${printable(lines.join("\n"))}\n`;
}

/** A record may hold terminal escape sequences (arguments are the client's): show control characters escaped. */
export function printable(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}
