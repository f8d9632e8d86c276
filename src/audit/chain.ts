import { createHash, createHmac, timingSafeEqual } from "node:crypto";
import { canonicalJson } from "./canonical-json.js";
import type { AuditEntry, AuditRecord, ChainHead } from "./types.js";

/** `prev` of the first record of a log. */
export const GENESIS_HASH = "0".repeat(64);

export const GENESIS_HEAD: ChainHead = Object.freeze({ seq: 0, hash: GENESIS_HASH });

const HEX64 = /^[0-9a-f]{64}$/;

/** Legacy format: sha256 (hex) over the canonical JSON of a record without its `hash` field. */
export function recordHash(record: Record<string, unknown>): string {
  const { hash: _ignored, ...rest } = record;
  return createHash("sha256").update(canonicalJson(rest), "utf8").digest("hex");
}

/**
 * Keyed format: HMAC-SHA256 (hex) over "record\n" and the canonical JSON of a record without its
 * `mac` field. Without the key nobody can write a record that verifies, so a log rewritten from
 * scratch, or records appended by anyone but the server, are found.
 */
export function recordMac(key: Buffer, record: Record<string, unknown>): string {
  const { mac: _ignored, ...rest } = record;
  return createHmac("sha256", key).update("record\n").update(canonicalJson(rest), "utf8").digest("hex");
}

/** The value the next record's `prev` holds: `mac` for a keyed record, `hash` for a legacy one. */
export function chainValue(record: AuditRecord): string {
  return (record.mac ?? record.hash)!;
}

/**
 * The next record after `head` and its JSONL line (newline included), keyed with `key` (the
 * legacy unkeyed format when `key` is null: tests and old logs only). The entry goes through a
 * JSON round trip first, so what is authenticated is exactly what a reader will parse back.
 */
export function chainEntry(head: ChainHead, entry: AuditEntry, key: Buffer | null): { record: AuditRecord; line: string } {
  const plain = JSON.parse(JSON.stringify(entry)) as Record<string, unknown>;
  // The chain fields belong to the log, never to the caller.
  const { seq: _s, prev: _p, hash: _h, mac: _m, ...fields } = plain;
  const unsealed = { seq: head.seq + 1, ...fields, prev: head.hash };
  const record = (key ? { ...unsealed, mac: recordMac(key, unsealed) } : { ...unsealed, hash: recordHash(unsealed) }) as unknown as AuditRecord;
  return { record, line: `${JSON.stringify(record)}\n` };
}

export type ParsedRecord =
  | { ok: true; record: AuditRecord; keyed: boolean }
  /** `needsKey`: a well-formed keyed record, but no key was given to check it. */
  | { ok: false; problem: string; needsKey?: boolean };

/**
 * Parses one line (without its newline) and checks what a single record can prove by itself: its
 * shape, that it is byte for byte what the writer produces (no duplicate keys, no reformatting)
 * and that its MAC (keyed) or hash (legacy) matches its content. Chain links (seq, prev) are the
 * caller's business.
 */
export function parseRecordLine(text: string, key: Buffer | null): ParsedRecord {
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
  const keyed = typeof record.mac === "string";
  if (keyed) {
    if (!key) return { ok: false, problem: "a keyed record, and no key to check it", needsKey: true };
    if (!sameHex(recordMac(key, record), record.mac as string)) return { ok: false, problem: "mac mismatch: the record was edited after it was written, or written without the log's key" };
  } else if (recordHash(record) !== record.hash) return { ok: false, problem: "hash mismatch: the record was edited after it was written" };
  return { ok: true, record: record as unknown as AuditRecord, keyed };
}

export function sameHex(a: string, b: string): boolean {
  return a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));
}

function shapeProblem(r: Record<string, unknown>): string | null {
  if (!Number.isSafeInteger(r.seq) || (r.seq as number) < 1) return "missing or invalid seq";
  if (typeof r.prev !== "string" || !HEX64.test(r.prev)) return "missing or invalid prev";
  if ((r.mac === undefined) === (r.hash === undefined)) return "missing or invalid mac (or legacy hash): a record has exactly one";
  const seal = r.mac ?? r.hash;
  if (typeof seal !== "string" || !HEX64.test(seal)) return "missing or invalid mac (or legacy hash)";
  if (typeof r.time !== "string" || typeof r.tool !== "string") return "missing time or tool";
  if (r.phase !== undefined && r.phase !== "intent" && r.phase !== "outcome") return "invalid phase";
  if (r.phase !== undefined && (typeof r.id !== "string" || r.id.length === 0)) return "an intent or outcome without an id";
  if (r.phase === undefined && r.id !== undefined) return "an id without a phase";
  if (r.phase !== "intent") {
    if (r.decision !== "allow" && r.decision !== "deny" && r.decision !== "error") return "invalid decision";
    if (typeof r.rule !== "string") return "missing rule";
  } else if (r.decision !== undefined) return "an intent carries no decision";
  if (r.rule !== undefined && typeof r.rule !== "string") return "invalid rule";
  if (r.phase !== "outcome" && (r.args === null || typeof r.args !== "object" || Array.isArray(r.args))) return "missing or invalid args";
  return null;
}
