import { chainValue } from "../audit/chain.js";
import { readNumberedRecords } from "../audit/read-records.js";
import { RECOVERY_TOOL, type AuditRecord } from "../audit/types.js";
import { verifyAuditLog, VerifyUnavailable, type VerifyOptions } from "../audit/verify.js";
import { TrajectoryError } from "./errors.js";
import type { Trajectory, TrajectoryStep } from "./types.js";

export interface LogLocation {
  log: string;
  /** As for `warden audit verify`: undefined looks beside the log. */
  key?: string | null;
  head?: string | null;
}

/** A session as `warden trajectory list` shows it. */
export interface SessionSummary {
  session: string;
  transport?: string;
  client?: string;
  calls: number;
  first_time: string;
  last_time: string;
}

/**
 * The tool calls of one session, in the order they began, read from the audit log (the one source
 * of truth: a trajectory is a view of the chain, never a second file that could disagree with it).
 * The chain is verified from its first record through the session's last one (key, MACs, links,
 * intent/outcome pairs); a break there is an error naming the line, a break after it is not the
 * session's. Unknown sessions and unreadable logs are errors that say what to do.
 */
export async function readSession(where: LogLocation, session: string): Promise<Trajectory> {
  const { records, sessions } = await scan(where.log, session);
  if (records.length === 0) {
    const known = [...sessions.values()].sort((a, b) => b.last_time.localeCompare(a.last_time)).slice(0, 5).map((s) => s.session);
    throw new TrajectoryError(
      `unknown session ${JSON.stringify(session)}: no call of it is in ${where.log}` +
        (known.length ? ` (latest sessions there: ${known.join(", ")}; \`warden trajectory list\` lists them all)` : " (the log holds no session)"),
      true,
    );
  }
  const lastLine = records[records.length - 1]!.line;
  const verified = await verifyThrough(where, lastLine);
  return { session, ...callerOf(records), log: where.log, first_seq: records[0]!.record.seq, last_seq: records[records.length - 1]!.record.seq, verified, steps: toSteps(records), checkpoints: [] };
}

/** Every session the log names, with its number of calls: for `warden trajectory list` and for errors. */
export async function listSessions(where: LogLocation): Promise<SessionSummary[]> {
  const { sessions } = await scan(where.log, null);
  return [...sessions.values()].sort((a, b) => a.first_time.localeCompare(b.first_time));
}

interface Located {
  line: number;
  record: AuditRecord;
}

async function scan(log: string, session: string | null): Promise<{ records: Located[]; sessions: Map<string, SessionSummary> }> {
  const records: Located[] = [];
  const sessions = new Map<string, SessionSummary>();
  const intents = new Set<string>();
  try {
    // Torn and unparsable lines are skipped here; verification names them when they lie in the session's segment.
    for await (const { line, record } of readNumberedRecords(log)) {
      // An outcome names no session: it belongs to the session of its intent (linked by id).
      if (record.phase === "outcome" && typeof record.id === "string" && intents.has(record.id)) {
        intents.delete(record.id);
        records.push({ line, record });
        continue;
      }
      if (typeof record.session !== "string" || record.tool === RECOVERY_TOOL) continue;
      if (record.session === session && record.phase === "intent" && typeof record.id === "string") intents.add(record.id);
      const s = sessions.get(record.session) ?? { session: record.session, calls: 0, first_time: record.time, last_time: record.time };
      if (record.phase !== "outcome") s.calls++;
      s.last_time = record.time;
      if (record.transport) s.transport = record.transport;
      if (record.client) s.client = record.client;
      sessions.set(record.session, s);
      if (record.session === session) records.push({ line, record });
    }
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT") throw new TrajectoryError(`audit log ${log} does not exist: give the log the server wrote (--audit-log FILE, WARDEN_AUDIT_LOG or the policy's audit.file)`, true);
    throw new TrajectoryError(`cannot read audit log ${log}: ${(err as Error).message}`);
  }
  return { records, sessions };
}

/** The chain from its start through `lastLine` must verify; a break after it is another session's business. */
async function verifyThrough(where: LogLocation, lastLine: number): Promise<Trajectory["verified"]> {
  const options: VerifyOptions = { ...(where.key !== undefined ? { key: where.key } : {}), ...(where.head !== undefined ? { head: where.head } : {}) };
  let result;
  try {
    result = await verifyAuditLog(where.log, options);
  } catch (err) {
    if (err instanceof VerifyUnavailable) throw new TrajectoryError(`cannot verify ${where.log}: ${err.message}`, true);
    throw new TrajectoryError(`cannot verify ${where.log}: ${(err as Error).message}`);
  }
  if (!result.ok && (result.line === 0 || result.line <= lastLine + 1)) {
    throw new TrajectoryError(
      `the audit log does not verify where this session lies: line ${result.line}${result.seq !== undefined ? ` (seq ${result.seq})` : ""}: ${result.problem}. ` +
        `Nothing was exported; run \`warden audit verify ${where.log}\` for the details`,
    );
  }
  const keyed = result.ok ? !result.unkeyed : true;
  return { records: result.records, keyed, head_checked: result.ok ? keyed && !result.tail_unchecked : false };
}

function callerOf(records: Located[]): { transport?: string; client?: string; workspace?: string } {
  const first = records.find((r) => r.record.transport)?.record;
  const client = [...records].reverse().find((r) => r.record.client)?.record.client;
  const workspace = records.find((r) => r.record.workspace)?.record.workspace;
  return { ...(first?.transport ? { transport: first.transport } : {}), ...(client ? { client } : {}), ...(workspace ? { workspace } : {}) };
}

/** Pairs intents with their outcomes; single records are steps of their own. Order: when each call began. */
function toSteps(records: Located[]): TrajectoryStep[] {
  const steps: TrajectoryStep[] = [];
  const open = new Map<string, TrajectoryStep>();
  for (const { record } of records) {
    const mac = chainValue(record);
    if (record.phase === "outcome") {
      const step = open.get(record.id!);
      if (!step) continue; // verify refuses an outcome without its intent
      open.delete(record.id!);
      Object.assign(step, facts(record), { audit: { seq: record.seq, mac, intent: step.audit.intent } });
      continue;
    }
    const step: TrajectoryStep = {
      index: steps.length + 1,
      tool: record.tool,
      args: record.args ?? {},
      time: record.time,
      decision: "unfinished",
      rule: record.rule ?? "",
      audit: { seq: record.seq, mac },
    };
    if (record.phase === "intent") {
      step.audit = { seq: record.seq, mac, intent: { seq: record.seq, mac } };
      open.set(record.id!, step);
    } else Object.assign(step, facts(record));
    steps.push(step);
  }
  return steps;
}

function facts(r: AuditRecord): Partial<TrajectoryStep> {
  return {
    decision: r.decision ?? "unfinished",
    rule: r.rule ?? "",
    ...(r.duration_ms !== undefined ? { duration_ms: r.duration_ms } : {}),
    ...(r.exit_code !== undefined ? { exit_code: r.exit_code } : {}),
    ...(r.bytes !== undefined ? { bytes: r.bytes } : {}),
    ...(r.backend ? { backend: r.backend } : {}),
    ...(r.handle ? { handle: r.handle } : {}),
    ...(r.result_sha256 ? { result_sha256: r.result_sha256 } : {}),
  };
}
