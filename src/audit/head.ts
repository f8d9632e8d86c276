import { createHmac } from "node:crypto";
import { closeSync, constants, fstatSync, openSync, readSync } from "node:fs";
import { canonicalJson } from "./canonical-json.js";
import { sameHex } from "./chain.js";
import { writeFileAtomic } from "./atomic-file.js";
import { keyId } from "./key.js";
import type { ChainHead } from "./types.js";

const FORMAT = "mcp-warden audit head 1";
const HEX64 = /^[0-9a-f]{64}$/;

/**
 * The head file, kept apart from the log: the seq and chain value of the log's last record,
 * sealed with the log's key. A log cut at a line boundary still chains, but it no longer reaches
 * the record the head names: that is how a cut tail is found. Without the key nobody can write a
 * head that names an earlier record.
 */
export interface AuditHeadFile {
  seq: number;
  /** Chain value (`mac`, or `hash` of a legacy record) of record `seq`; GENESIS_HASH for seq 0. */
  last: string;
  /** seq of the first keyed record: 1 for a log begun keyed; past the end of an older unkeyed log it continues. */
  keyed_from: number;
  /** keyId() of the key that sealed it. */
  key_id: string;
  time: string;
}

export type HeadRead = { ok: true; head: AuditHeadFile } | { ok: false; problem: string } | null;

function headMac(key: Buffer, head: AuditHeadFile): string {
  return createHmac("sha256", key).update("head\n").update(canonicalJson({ format: FORMAT, ...head }), "utf8").digest("hex");
}

/** Writes the head atomically (temporary name, fsync, rename; `durable` also syncs the directory). */
export function writeHeadFile(path: string, key: Buffer, chain: ChainHead, keyedFrom: number, durable: boolean, now = new Date()): void {
  const head: AuditHeadFile = { seq: chain.seq, last: chain.hash, keyed_from: keyedFrom, key_id: keyId(key), time: now.toISOString() };
  writeFileAtomic(path, `${JSON.stringify({ format: FORMAT, ...head, mac: headMac(key, head) })}\n`, durable);
}

/** Reads and checks a head file; null when it does not exist. A head sealed with another key is a problem. */
export function readHeadFile(path: string, key: Buffer): HeadRead {
  let text: string;
  try {
    const fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW);
    try {
      if (!fstatSync(fd).isFile()) return { ok: false, problem: `${path} is not a regular file` };
      const buf = Buffer.alloc(4096);
      const n = readSync(fd, buf, 0, buf.length, 0);
      text = buf.subarray(0, n).toString("utf8");
    } finally {
      closeSync(fd);
    }
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT") return null;
    return { ok: false, problem: code === "ELOOP" ? `${path} is a symbolic link` : `cannot read ${path}: ${code ?? (err as Error).message}` };
  }
  let value: Record<string, unknown>;
  try {
    value = JSON.parse(text) as Record<string, unknown>;
  } catch {
    return { ok: false, problem: `${path} is not a head file (not JSON)` };
  }
  const { format, mac, ...rest } = value;
  const head = rest as unknown as AuditHeadFile;
  const fieldsOk =
    Number.isSafeInteger(head.seq) && head.seq >= 0 && typeof head.last === "string" && HEX64.test(head.last) && Number.isSafeInteger(head.keyed_from) && head.keyed_from >= 1 &&
    typeof head.key_id === "string" && typeof head.time === "string" && typeof mac === "string";
  if (format !== FORMAT || !fieldsOk) {
    return { ok: false, problem: `${path} is not a head file (format or fields)` };
  }
  if (head.key_id !== keyId(key)) return { ok: false, problem: `${path} was sealed with another key (key id ${head.key_id}, this key's id is ${keyId(key)})` };
  const clean: AuditHeadFile = { seq: head.seq, last: head.last, keyed_from: head.keyed_from, key_id: head.key_id, time: head.time };
  if (Object.keys(rest).length !== 5 || !sameHex(headMac(key, clean), mac)) return { ok: false, problem: `${path}: mac mismatch: the head was edited, or written without the log's key` };
  return { ok: true, head: clean };
}
