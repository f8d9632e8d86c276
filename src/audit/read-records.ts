import { readLogLines } from "./line-reader.js";
import { matchesFilter, type AuditFilter, type AuditPage } from "./query.js";
import type { AuditRecord } from "./types.js";

/**
 * The records of a log in order, parsed but not verified (that is verify.ts's job; the dashboard
 * shows verification separately). A torn or unparsable line is skipped: a reader never fails on
 * what a crash left behind. `afterSeq` skips records up to and including that seq.
 */
export async function* readAuditRecords(path: string, afterSeq = 0): AsyncGenerator<AuditRecord> {
  for await (const { record } of readNumberedRecords(path, afterSeq)) yield record;
}

/** readAuditRecords with each record's 1-based line number (as verify.ts names lines): for readers that point at one. */
export async function* readNumberedRecords(path: string, afterSeq = 0): AsyncGenerator<{ line: number; record: AuditRecord }> {
  for await (const line of readLogLines(path)) {
    if (!line.terminated) continue;
    let r: AuditRecord;
    try {
      r = JSON.parse(line.bytes.toString("utf8")) as AuditRecord;
    } catch {
      continue;
    }
    if (typeof r !== "object" || r === null || typeof r.seq !== "number" || r.seq <= afterSeq) continue;
    yield { line: line.number, record: r };
  }
}

/** One page of the records matching `filter`; `next_cursor` is null on the last page. */
export async function queryAuditLog(path: string, filter: AuditFilter, page: AuditPage): Promise<{ records: AuditRecord[]; next_cursor: number | null }> {
  const records: AuditRecord[] = [];
  if (page.order === "asc") {
    for await (const r of readAuditRecords(path, page.cursor ?? 0)) {
      if (!matchesFilter(r, filter)) continue;
      if (records.length === page.limit) return { records, next_cursor: records[records.length - 1]!.seq };
      records.push(r);
    }
    return { records, next_cursor: null };
  }
  // Newest first: keep the last limit+1 matches below the cursor (a ring would save copies; pages are small).
  for await (const r of readAuditRecords(path)) {
    if (page.cursor !== undefined && r.seq >= page.cursor) break;
    if (!matchesFilter(r, filter)) continue;
    records.push(r);
    if (records.length > page.limit + 1) records.shift();
  }
  const more = records.length > page.limit;
  const out = records.slice(more ? 1 : 0).reverse();
  return { records: out, next_cursor: more ? out[out.length - 1]!.seq : null };
}
