import { createHash } from "node:crypto";
import { chainValue, GENESIS_HEAD, parseRecordLine, type ParsedRecord } from "./chain.js";
import { readHeadFile, type AuditHeadFile } from "./head.js";
import { readKeyFile } from "./key.js";
import { readLogLines, type LogLine } from "./line-reader.js";
import { RECOVERY_TOOL, type ChainHead } from "./types.js";

/** An intent the log holds no outcome for: the call may or may not have taken effect. */
export interface OpenIntent {
  line: number;
  seq: number;
  id: string;
  tool: string;
}

export type AuditVerifyResult =
  | {
      ok: true;
      records: number;
      /** Records in the legacy unkeyed format (plain sha256), when there are any. */
      legacy?: number;
      /** Verified without a key: a cut tail, or a log rewritten from scratch, cannot be told. */
      unkeyed?: true;
      /** Verified with the key but without the head (--no-head): a cut tail cannot be told. */
      tail_unchecked?: true;
      /** Intents without an outcome (the server stopped, or could not write the outcome, before the call ended). */
      open_intents?: OpenIntent[];
    }
  | {
      ok: false;
      /** 1-based line of the first bad record (for a cut tail: the line where the missing records would start). */
      line: number;
      seq?: number;
      problem: string;
      /** Records that verified before it. */
      records: number;
      /** The start of the bad line, for the report. */
      text: string;
    };

export interface VerifyOptions {
  /** The key file: undefined looks beside the log (`FILE.key`), null verifies without a key (legacy logs only). */
  key?: string | null;
  /** The head file: undefined looks beside the log (`FILE.head`), null skips the tail check. */
  head?: string | null;
}

/** The log cannot be verified at all (unreadable, or keyed and no key): `warden audit verify` exits 2. */
export class VerifyUnavailable extends Error {}

interface Line extends LogLine {
  parsed?: ParsedRecord;
}

/**
 * Walks the whole chain and reports the first record that was edited, removed, inserted or moved,
 * a torn last line, an outcome without its intent, and, with the key and the head, a cut tail
 * or a log rewritten without the key. Intents left without an outcome are listed, not failed: a
 * `kill -9` mid-call leaves one.
 */
export async function verifyAuditLog(path: string, options: VerifyOptions = {}): Promise<AuditVerifyResult> {
  const keyPath = options.key === undefined ? `${path}.key` : options.key;
  const key = keyPath ? readKeyFile(keyPath, false) : null;
  if (options.key && !key) throw new VerifyUnavailable(`key file ${options.key} does not exist`);
  const headPath = options.head === undefined ? `${path}.head` : options.head;
  let head: AuditHeadFile | null = null;
  if (key && headPath) {
    const read = readHeadFile(headPath, key);
    if (read === null && options.head) throw new VerifyUnavailable(`head file ${options.head} does not exist`);
    if (read && !read.ok) return { ok: false, line: 0, problem: `head: ${read.problem}`, records: 0, text: "" };
    if (read === null) return { ok: false, line: 0, problem: `head file ${headPath} is missing: a cut tail cannot be told (give --head FILE, or --no-head to check the chain alone)`, records: 0, text: "" };
    head = read.head;
  }
  const walk = new ChainWalk(key, keyPath, head);
  let held: Line | null = null;
  try {
    for await (const line of readLogLines(path)) {
      // One line of lookahead: a torn line is excused by the recovery record right after it.
      if (held) {
        const bad = walk.step(held, line);
        if (bad) return bad;
      }
      held = line;
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code || err instanceof VerifyUnavailable) throw err;
    return { ok: false, line: walk.lastLine + 1, problem: (err as Error).message, records: walk.records, text: "" };
  }
  if (held) {
    const bad = walk.step(held, null);
    if (bad) return bad;
  }
  return walk.finish(Boolean(key), Boolean(key && !headPath));
}

type Failure = Extract<AuditVerifyResult, { ok: false }>;

class ChainWalk {
  records = 0;
  lastLine = 0;
  private legacy = 0;
  private keyedSeen = false;
  private head: ChainHead = GENESIS_HEAD;
  /** Chain value of the record before `head`, to tell an inserted record from a rewritten one. */
  private beforeHead: string | null = null;
  private headLine = 0;
  /** The line before the current one was a torn line excused by the current (recovery) record. */
  private excused = false;
  private readonly open = new Map<string, OpenIntent>();

  constructor(
    private readonly key: Buffer | null,
    private readonly keyPath: string | null,
    private readonly headFile: AuditHeadFile | null,
  ) {}

  step(line: Line, next: Line | null): Failure | null {
    this.lastLine = line.number;
    const text = line.bytes.toString("utf8");
    const fail = (problem: string, at = line, seq?: number): Failure => ({
      ok: false,
      line: at.number,
      ...(seq !== undefined ? { seq } : {}),
      problem,
      records: this.records,
      text: (at === line ? text : "").slice(0, 500),
    });
    if (next && this.excusedBy(line, next)) {
      this.excused = true;
      return null;
    }
    const excused = this.excused;
    this.excused = false;
    if (!line.terminated) {
      return fail(`torn tail: the last line (${line.bytes.length} bytes) has no newline: a write cut short by a crash, or a truncated file; the ${this.records} records before it verify`, line, looseSeq(text));
    }
    const parsed = (line.parsed ??= this.parse(text));
    if (!parsed.ok) {
      if (parsed.needsKey) throw new VerifyUnavailable(`line ${line.number} is a keyed record and the key was not found${this.keyPath ? ` at ${this.keyPath}` : ""}; give --key FILE`);
      return fail(parsed.problem, line, looseSeq(text));
    }
    const record = parsed.record;
    const { seq, prev } = record;
    const value = chainValue(record);
    if (record.tool === RECOVERY_TOOL && !excused) return fail("recovery record without the torn line it names right before it (that line was removed or changed)", line, seq);
    const expected = this.head.seq + 1;
    if (seq !== expected || prev !== this.head.hash) {
      if (value === this.head.hash) return fail(`duplicate of line ${this.headLine}`, line, seq);
      if (prev === this.beforeHead && seq === this.head.seq) {
        const inserted = { ...line, number: this.headLine };
        return { ...fail(`inserted record: line ${line.number} chains to the record before this one`, inserted, this.head.seq), text: "", records: this.records - 1 };
      }
      if (seq > expected) return fail(`seq gap: expected seq ${expected}, found ${seq} (a record was removed or moved)`, line, seq);
      if (seq < expected) return fail(`seq ${seq} out of order: expected seq ${expected} (records reordered or duplicated)`, line, seq);
      return fail(`prev mismatch: prev is not the hash of the record before it (that record was rewritten, or this one forged)`, line, seq);
    }
    if (parsed.keyed) this.keyedSeen = true;
    else if (this.keyedSeen) return fail("an unkeyed (legacy) record after keyed ones: written without the log's key", line, seq);
    else if (this.headFile && seq >= this.headFile.keyed_from) return fail(`an unkeyed (legacy) record where the head says the log is keyed from seq ${this.headFile.keyed_from}: written without the log's key`, line, seq);
    else this.legacy++;
    if (this.headFile && seq === this.headFile.seq && value !== this.headFile.last) {
      return fail(`not the record the head names for seq ${seq}: the log was replaced or rewritten (without the key) from here or before`, line, seq);
    }
    const linkProblem = this.link(record, line.number);
    if (linkProblem) return fail(linkProblem, line, seq);
    this.beforeHead = this.head.hash;
    this.head = { seq, hash: value };
    this.headLine = line.number;
    this.records++;
    return null;
  }

  /** After the last line: the head must not name a record past the end (a cut tail). */
  finish(keyed: boolean, tailUnchecked: boolean): AuditVerifyResult {
    if (this.headFile && this.headFile.seq > this.head.seq) {
      return {
        ok: false,
        line: this.lastLine + 1,
        seq: this.head.seq + 1,
        problem: `cut tail: the log ends at seq ${this.head.seq}, but its head says it reached seq ${this.headFile.seq} (${this.headFile.time}): ${this.headFile.seq === this.head.seq + 1 ? `record ${this.headFile.seq} was` : `records ${this.head.seq + 1}..${this.headFile.seq} were`} removed`,
        records: this.records,
        text: "",
      };
    }
    const open = [...this.open.values()];
    return {
      ok: true,
      records: this.records,
      ...(this.legacy > 0 ? { legacy: this.legacy } : {}),
      ...(keyed ? {} : { unkeyed: true as const }),
      ...(tailUnchecked ? { tail_unchecked: true as const } : {}),
      ...(open.length > 0 ? { open_intents: open } : {}),
    };
  }

  /** Intents open, outcomes close: an outcome must follow its own intent, once. */
  private link(record: { seq: number; id?: string; phase?: string; tool: string }, line: number): string | null {
    if (record.phase === "intent") {
      if (this.open.has(record.id!)) return `intent id ${record.id} is already open (line ${this.open.get(record.id!)!.line})`;
      this.open.set(record.id!, { line, seq: record.seq, id: record.id!, tool: record.tool });
    } else if (record.phase === "outcome") {
      const intent = this.open.get(record.id!);
      if (!intent) return `outcome without its intent (id ${record.id}): the intent was removed, or this outcome forged`;
      if (intent.tool !== record.tool) return `outcome of ${record.tool} for an intent of ${intent.tool} (id ${record.id})`;
      this.open.delete(record.id!);
    }
    return null;
  }

  private parse(text: string): ParsedRecord {
    return parseRecordLine(text, this.key);
  }

  /** A torn line is skipped when the very next line is a recovery record naming its offset, length and hash. */
  private excusedBy(line: Line, next: Line): boolean {
    const parsed = (next.parsed ??= this.parse(next.bytes.toString("utf8")));
    if (!parsed.ok || parsed.record.tool !== RECOVERY_TOOL) return false;
    const args = parsed.record.args ?? {};
    return (
      args.torn_offset === line.offset &&
      args.torn_bytes === line.bytes.length &&
      args.torn_sha256 === createHash("sha256").update(line.bytes).digest("hex")
    );
  }
}

/** seq of a damaged line, when it can still be read, for the report. */
function looseSeq(text: string): number | undefined {
  try {
    const seq = (JSON.parse(text) as { seq?: unknown }).seq;
    if (Number.isSafeInteger(seq)) return seq as number;
  } catch {
    // fall through to a textual look
  }
  const match = /"seq"\s*:\s*(\d+)/.exec(text);
  return match ? Number(match[1]) : undefined;
}
