import { spawnSync } from "node:child_process";
import { copyFileSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { resultDigest } from "../../src/audit/result-digest.js";
import { CLI, REPO, startWarden } from "../support/warden-client.js";
import { makeTempDir, removeDir, writeTree } from "../support/tree.js";

/**
 * A real `warden serve` session over stdio (the MCP SDK client), then the trajectory commands on
 * the log it wrote: export in both formats, policy replay, bad input and a tampered segment.
 */
let dir: string;
let proj: string;
let log: string;
let session: string;
let readResult: Record<string, unknown>;

const warden = (args: string[]) => spawnSync(process.execPath, [CLI, ...args], { encoding: "utf8", timeout: 60_000, cwd: dir });

beforeAll(async () => {
  dir = makeTempDir("warden-trajectory-");
  proj = join(dir, "proj");
  log = join(dir, "logs", "audit.jsonl");
  writeTree(dir, { "proj/a.txt": "alpha\n", "proj/.env": "SECRET=1\n", "logs/.keep": "" });
  const w = await startWarden(["--root", proj, "--audit-log", log]);
  try {
    const read = await w.call("read_file", { path: "a.txt" });
    readResult = read.structuredContent as Record<string, unknown>;
    await w.call("write_file", { path: "b.txt", content: "beta\n" });
    await w.call("list_directory", { path: "." });
    await w.call("execute_command", { command: "ls" });
    await w.call("edit_file", { path: "b.txt", edits: [{ old_text: "beta", new_text: "gamma" }] });
    const denied = await w.call("read_file", { path: ".env" });
    expect(denied.isError).toBe(true);
  } finally {
    await w.close();
  }
  const list = warden(["trajectory", "list", "--audit-log", log, "--json"]);
  expect(list.status, list.stderr).toBe(0);
  const sessions = JSON.parse(list.stdout) as { session: string; calls: number }[];
  expect(sessions).toHaveLength(1);
  expect(sessions[0]!.calls).toBe(6);
  session = sessions[0]!.session;
}, 120_000);
afterAll(() => removeDir(dir));

const TOOLS = ["read_file", "write_file", "list_directory", "execute_command", "edit_file", "read_file"];

describe("warden trajectory export", () => {
  it("jsonl: every call in order with decision, rule, result digest, timing, and the audit record it came from", () => {
    const r = warden(["trajectory", "export", session, "--audit-log", log, "--format", "jsonl"]);
    expect(r.status, r.stderr).toBe(0);
    const lines = r.stdout.trim().split("\n").map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines[0]).toMatchObject({ type: "session", session, steps: 6, verified: { keyed: true, head_checked: true } });
    const steps = lines.slice(1) as Array<Record<string, any>>;
    expect(steps.map((s) => s.tool)).toEqual(TOOLS);
    expect(steps.map((s) => s.decision)).toEqual(["allow", "allow", "allow", "allow", "allow", "deny"]);
    expect(steps[5]!.rule).toBe("filesystem.deny:**/.env");
    expect(steps[3]!.rule).toMatch(/^commands\.allow/);
    // Contents are never in a trajectory: write_file's content is its length and sha256, as in the log.
    expect(JSON.stringify(steps[1]!.args)).toMatch(/\[CONTENT: 5 bytes, sha256:[0-9a-f]{64}\]/);
    expect(r.stdout).not.toContain("beta\\n");
    // The digest is of what the client received (structured content, timing left out).
    expect(steps[0]!.result_sha256).toBe(resultDigest({ ok: true, structured: readResult }));
    for (const s of steps) {
      expect(s.result_sha256).toMatch(/^[0-9a-f]{64}$/);
      expect(typeof s.duration_ms).toBe("number");
    }
    // Each step names its record: seq and MAC are the log's own.
    const records = readFileSync(log, "utf8").trim().split("\n").map((l) => JSON.parse(l) as { seq: number; mac: string; phase?: string });
    for (const s of steps) {
      expect(records.find((rec) => rec.seq === s.audit.seq)!.mac).toBe(s.audit.mac);
      if (s.audit.intent) expect(records.find((rec) => rec.seq === s.audit.intent.seq)!.phase).toBe("intent");
    }
    expect(steps[1]!.audit.intent).toBeDefined(); // write_file changed something: intent, then outcome
    expect(steps[0]!.audit.intent).toBeUndefined(); // a read is one record
  });

  it("atif: Harbor's ATIF v1.6 shape (sequential step ids, tool calls answered by observations)", () => {
    const r = warden(["trajectory", "export", session, "--audit-log", log, "--format", "atif"]);
    expect(r.status, r.stderr).toBe(0);
    const t = JSON.parse(r.stdout) as Record<string, any>;
    expect(atifProblems(t)).toEqual([]);
    expect(t.schema_version).toBe("ATIF-v1.6");
    expect(t.session_id).toBe(session);
    expect(t.steps.map((s: any) => s.tool_calls[0].function_name)).toEqual(TOOLS);
    expect(t.steps[5].extra).toMatchObject({ decision: "deny", rule: "filesystem.deny:**/.env" });
  });
});

describe("warden audit replay", () => {
  it("reports the calls a candidate policy decides differently, exit 1", () => {
    const candidate = JSON.parse(readFileSync(join(REPO, "policies", "default.json"), "utf8"));
    candidate.filesystem.deny.push("**/b.txt");
    candidate.commands.allow = candidate.commands.allow.filter((r: { program?: string }) => r.program !== "ls");
    const file = join(dir, "candidate.json");
    writeFileSync(file, JSON.stringify(candidate));
    const text = warden(["audit", "replay", session, "--audit-log", log, "--policy", file, "--root", proj]);
    expect(text.status, text.stderr).toBe(1);
    expect(text.stdout).toMatch(/#2 write_file: allow \(allow\) -> deny \(filesystem\.deny:\*\*\/b\.txt\)/);
    const json = warden(["audit", "replay", session, "--audit-log", log, "--policy", file, "--root", proj, "--json"]);
    expect(json.status).toBe(1);
    const result = JSON.parse(json.stdout) as { changes: { index: number; tool: string; new: { decision: string; rule: string } }[]; decided: number };
    expect(result.decided).toBe(6);
    expect(result.changes.map((c) => [c.index, c.tool, c.new.decision])).toEqual([
      [2, "write_file", "deny"],
      [4, "execute_command", "deny"],
      [5, "edit_file", "deny"],
    ]);
  });

  it("the policy the session ran under changes nothing: exit 0", () => {
    const r = warden(["audit", "replay", session, "--audit-log", log, "--policy", join(REPO, "policies", "default.json"), "--root", proj]);
    expect(r.stdout).toMatch(/6 decided again .* 0 would change/);
    expect(r.status, r.stdout + r.stderr).toBe(0);
  });
});

describe("bad input", () => {
  it("an unknown session: exit 2, names the sessions there", () => {
    const r = warden(["trajectory", "export", "no-such-session", "--audit-log", log]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(`unknown session "no-such-session"`);
    expect(r.stderr).toContain(session);
    expect(warden(["audit", "replay", "no-such-session", "--audit-log", log, "--policy", join(REPO, "policies", "default.json")]).status).toBe(2);
  });

  it("replay of a session that did not run in overlay mode: exit 2, says what it needs", () => {
    const r = warden(["trajectory", "replay", session, "--audit-log", log, "--state-dir", join(dir, "state")]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/names no workspace: replay needs a session recorded with `warden serve --overlay`/);
  });

  it("a missing log, an unknown format: exit 2 with the fix", () => {
    const r = warden(["trajectory", "export", session, "--audit-log", join(dir, "none.jsonl")]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/does not exist: give the log the server wrote/);
    const f = warden(["trajectory", "export", session, "--audit-log", log, "--format", "yaml"]);
    expect(f.status).toBe(2);
    expect(f.stderr).toMatch(/give jsonl or atif/);
  });

  it("a record of the session edited after the fact: nothing exported, exit 1, the line named", () => {
    const copy = join(dir, "tampered.jsonl");
    copyFileSync(`${log}.key`, `${copy}.key`);
    copyFileSync(`${log}.head`, `${copy}.head`);
    const lines = readFileSync(log, "utf8").split("\n");
    const at = lines.findIndex((l) => l.includes('"tool":"execute_command"'));
    lines[at] = lines[at]!.replace('"command":"ls"', '"command":"rm -rf /"');
    writeFileSync(copy, lines.join("\n"));
    for (const args of [["trajectory", "export", session], ["audit", "replay", session, "--policy", join(REPO, "policies", "default.json")]]) {
      const r = warden([...args, "--audit-log", copy]);
      expect(r.status).toBe(1);
      expect(r.stdout).toBe("");
      expect(r.stderr).toMatch(new RegExp(`does not verify where this session lies: line ${at + 1} .*mac mismatch`));
    }
  });
});

/** The ATIF rules a reader relies on (Harbor RFC 0001, v1.6): what Harbor's validator checks of these fields. */
function atifProblems(t: Record<string, any>): string[] {
  const problems: string[] = [];
  if (!/^ATIF-v1\.\d+$/.test(t.schema_version)) problems.push("schema_version");
  if (typeof t.session_id !== "string") problems.push("session_id");
  if (typeof t.agent?.name !== "string" || typeof t.agent?.version !== "string") problems.push("agent.name/version");
  if (!Array.isArray(t.steps) || t.steps.length === 0) return [...problems, "steps"];
  t.steps.forEach((s: any, i: number) => {
    if (s.step_id !== i + 1) problems.push(`step ${i}: step_id ${s.step_id}`);
    if (!["system", "user", "agent"].includes(s.source)) problems.push(`step ${i}: source`);
    if (typeof s.message !== "string") problems.push(`step ${i}: message`);
    if (s.timestamp !== undefined && Number.isNaN(Date.parse(s.timestamp))) problems.push(`step ${i}: timestamp`);
    if (s.tool_calls && s.source !== "agent") problems.push(`step ${i}: tool_calls on a non-agent step`);
    const ids = new Set((s.tool_calls ?? []).map((c: any) => c.tool_call_id));
    for (const c of s.tool_calls ?? []) if (typeof c.tool_call_id !== "string" || typeof c.function_name !== "string" || typeof c.arguments !== "object") problems.push(`step ${i}: tool_call`);
    for (const o of s.observation?.results ?? []) if (o.source_call_id !== undefined && !ids.has(o.source_call_id)) problems.push(`step ${i}: observation for unknown call ${o.source_call_id}`);
  });
  if (t.final_metrics && t.final_metrics.total_steps !== t.steps.length) problems.push("final_metrics.total_steps");
  return problems;
}
