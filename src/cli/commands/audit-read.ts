import { open } from "node:fs/promises";
import type { Command } from "commander";
import { AuditFilterError, matchesFilter, parseAuditFilter, type AuditFilter } from "../../audit/query.js";
import { readAuditRecords } from "../../audit/read-records.js";
import { AuditStatsBuilder } from "../../audit/summary.js";
import type { AuditRecord } from "../../audit/types.js";
import { UsageError, integerIn } from "../options.js";
import { CSV_COLUMNS, csvRow, recordLine, statsText } from "./audit-format.js";

interface FilterFlags {
  since?: string;
  until?: string;
  tool?: string;
  decision?: string;
  rule?: string;
  session?: string;
  request?: string;
  json?: boolean;
  csv?: boolean;
}

const FILTER_FLAGS = ["since", "until", "tool", "decision", "rule", "session", "request"] as const;
/** How often `tail -f` looks for new records. */
const FOLLOW_MS = 500;

/** `warden audit tail|query|stats`: the log read with the same filters as GET /api/v1/audit. */
export function registerAuditReadCommands(audit: Command): void {
  withFilters(audit.command("tail").description("print the last records (filters apply); -f keeps printing new ones"))
    .option("-n, --lines <n>", "how many records", integerIn(1, 100_000), 20)
    .option("-f, --follow", "keep printing records as they are written")
    .option("--json", "one JSON record per line")
    .action(async (file: string | undefined, flags: FilterFlags & { lines: number; follow?: boolean }) => {
      const { path, filter } = inputs(file, flags);
      const print = (r: AuditRecord) => process.stdout.write(flags.json ? `${JSON.stringify(r)}\n` : `${recordLine(r)}\n`);
      const last: AuditRecord[] = [];
      for await (const r of readAuditRecords(path)) {
        if (!matchesFilter(r, filter)) continue;
        last.push(r);
        if (last.length > flags.lines) last.shift();
      }
      last.forEach(print);
      if (flags.follow) await follow(path, filter, print);
    });

  withFilters(audit.command("query").description("print every matching record (text, --json lines or --csv)"))
    .option("--json", "one JSON record per line")
    .option("--csv", `CSV with a header (${CSV_COLUMNS.join(",")})`)
    .action(async (file: string | undefined, flags: FilterFlags) => {
      const { path, filter } = inputs(file, flags);
      if (flags.json && flags.csv) throw new UsageError("give --json or --csv, not both");
      if (flags.csv) process.stdout.write(`${CSV_COLUMNS.join(",")}\n`);
      let n = 0;
      for await (const r of readAuditRecords(path)) {
        if (!matchesFilter(r, filter)) continue;
        n++;
        process.stdout.write(flags.csv ? `${csvRow(r)}\n` : flags.json ? `${JSON.stringify(r)}\n` : `${recordLine(r)}\n`);
      }
      if (n === 0 && !flags.json && !flags.csv) process.stderr.write("warden: no records match\n");
    });

  withFilters(audit.command("stats").description("counts by decision and tool, and the rules that denied most"))
    .option("--json", "print the counts as JSON")
    .action(async (file: string | undefined, flags: FilterFlags) => {
      const { path, filter } = inputs(file, flags);
      const stats = new AuditStatsBuilder();
      for await (const r of readAuditRecords(path)) if (matchesFilter(r, filter)) stats.add(r);
      process.stdout.write(flags.json ? `${JSON.stringify(stats.result())}\n` : statsText(stats.result()));
    });
}

function withFilters(cmd: Command): Command {
  return cmd
    .argument("[file]", "JSONL audit log (default: WARDEN_AUDIT_LOG)")
    .option("--since <time>", "from this time: ISO 8601, or an age such as 15m, 2h, 7d")
    .option("--until <time>", "before this time (same forms)")
    .option("--tool <names>", "tool names, comma-separated")
    .option("--decision <list>", "allow, deny, error, intent (comma-separated)")
    .option("--rule <rules>", "rule names, comma-separated; a trailing * matches a prefix (commands.*)")
    .option("--session <id>", "one MCP session")
    .option("--request <id>", "one request");
}

function inputs(file: string | undefined, flags: FilterFlags): { path: string; filter: AuditFilter } {
  const path = file ?? process.env.WARDEN_AUDIT_LOG;
  if (!path) throw new UsageError("which audit log? give it as an argument (warden audit query /var/log/warden/audit.jsonl) or set WARDEN_AUDIT_LOG");
  const params: [string, string][] = [];
  for (const k of FILTER_FLAGS) if (flags[k] !== undefined) params.push([k, flags[k]!]);
  try {
    return { path, filter: parseAuditFilter(params) };
  } catch (err) {
    throw err instanceof AuditFilterError ? new UsageError(`--${err.message}`) : err;
  }
}

/** Prints records appended after the current end, until interrupted; whole lines only. */
async function follow(path: string, filter: AuditFilter, print: (r: AuditRecord) => void): Promise<never> {
  const file = await open(path, "r");
  let position = (await file.stat()).size;
  let partial = "";
  for (;;) {
    await new Promise((r) => setTimeout(r, FOLLOW_MS));
    const size = (await file.stat()).size;
    if (size < position) throw new Error(`${path} shrank while being followed (from ${position} to ${size} bytes): its tail was cut`);
    if (size === position) continue;
    const buf = Buffer.alloc(size - position);
    const { bytesRead } = await file.read(buf, 0, buf.length, position);
    position += bytesRead;
    const lines = (partial + buf.subarray(0, bytesRead).toString("utf8")).split("\n");
    partial = lines.pop() ?? "";
    for (const line of lines) {
      try {
        const r = JSON.parse(line) as AuditRecord;
        if (matchesFilter(r, filter)) print(r);
      } catch {
        // not a record: verify reports it
      }
    }
  }
}
