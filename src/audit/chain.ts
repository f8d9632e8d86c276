import { createHash } from "node:crypto";
import { canonicalJson } from "./canonical-json.js";
import type { AuditEntry, AuditRecord, ChainHead } from "./types.js";

/** `prev` of the first record of a log. */
export const GENESIS_HASH = "0".repeat(64);

export const GENESIS_HEAD: ChainHead = Object.freeze({ seq: 0, hash: GENESIS_HASH });

const HEX64 = /^[0-9a-f]{64}$/;

/** sha256 (hex) over the canonical JSON of a record without its `hash` field. */
export function recordHash(record: Record<string, unknown>): string {
  const { hash: _ignored, ...rest } = record;
  return createHash("sha256").update(canonicalJson(rest), "utf8").digest("hex");
}

/**
 * The next record after `head` and its JSONL line (newline included). The entry goes through a
 * JSON round trip first, so what is hashed is exactly what a reader will parse back.
 */
export function chainEntry(head: ChainHead, entry: AuditEntry): { record: AuditRecord; line: string } {
  const plain = JSON.parse(JSON.stringify(entry)) as Record<string, unknown>;
  // The chain fields belong to the log, never to the caller.
  const { seq: _s, prev: _p, hash: _h, ...fields } = plain;
  const unhashed = { seq: head.seq + 1, ...fields, prev: head.hash };
  const record = { ...unhashed, hash: recordHash(unhashed) } as unknown as AuditRecord;
  return { record, line: `${JSON.stringify(record)}\n` };
}

export type ParsedRecord = { ok: true; record: AuditRecord } | { ok: false; problem: string };

/**
 * Parses one line (without its newline) and checks what a single record can prove by itself: its
 * shape, that it is byte for byte what the writer produces (no duplicate keys, no reformatting)
 * and that its hash matches its content. Chain links (seq, prev) are the caller's business.
 */
export function parseRecordLine(text: string): ParsedRecord {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { ok: false, problem: "not a JSON record" };
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) return { ok: false, problem: "not a JSON object" };
  const record = value as Record<string, unknown>;
  const shape = shapeProblem(record);
  if (shape) return { ok: false, problem: shape };
  if (JSON.stringify(record) !== text) return { ok: false, problem: "not in the writer's serialization (reformatted, or duplicate keys)" };
  if (recordHash(record) !== record.hash) return { ok: false, problem: "hash mismatch: the record was edited after it was written" };
  return { ok: true, record: record as unknown as AuditRecord };
}

function shapeProblem(r: Record<string, unknown>): string | null {
  if (!Number.isSafeInteger(r.seq) || (r.seq as number) < 1) return "missing or invalid seq";
  if (typeof r.prev !== "string" || !HEX64.test(r.prev)) return "missing or invalid prev";
  if (typeof r.hash !== "string" || !HEX64.test(r.hash)) return "missing or invalid hash";
  if (typeof r.time !== "string" || typeof r.tool !== "string" || typeof r.rule !== "string") return "missing time, tool or rule";
  if (r.decision !== "allow" && r.decision !== "deny" && r.decision !== "error") return "invalid decision";
  if (r.args === null || typeof r.args !== "object" || Array.isArray(r.args)) return "missing or invalid args";
  return null;
}
