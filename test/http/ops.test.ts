import { renameSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectMcp, raw, startTestServer, TOKEN, type HttpMcpClient, type TestServer } from "./support.js";
import { openSse } from "./sse-reader.js";

const AUTH = { authorization: `Bearer ${TOKEN}` };
/** Stands for what must never reach a metric label or an unauthenticated reader. */
const CANARY = "CANARY-7f3e";

describe("operations over the real HTTP server: /metrics, /ready, audit queries, the audit stream", () => {
  let s: TestServer;
  let c: HttpMcpClient;
  beforeAll(async () => {
    s = await startTestServer({ token: TOKEN, heartbeatMs: 100 });
    c = await connectMcp(s.url, TOKEN);
  });
  afterAll(async () => {
    await c?.close();
    await s?.close();
  });

  const get = (path: string, headers: Record<string, string> = AUTH) => raw(s.url, { path, headers });

  it("exposes the named metrics in Prometheus text, with no paths, commands or session ids as labels", async () => {
    expect((await c.call("execute_command", { command: "echo ok" })).isError).toBeFalsy();
    expect((await c.call("execute_command", { command: `ls /tmp/${CANARY}` })).isError).toBe(true);
    expect((await c.call("read_file", { path: `/etc/${CANARY}` })).isError).toBe(true);
    expect((await get("/metrics", {})).status).toBe(401);
    const m = await get("/metrics");
    expect(m.status).toBe(200);
    expect(m.headers["content-type"]).toMatch(/^text\/plain; version=0\.0\.4/);
    const t = m.text;
    expect(t).toMatch(/^mcp_warden_tool_calls_total\{tool="execute_command",decision="allow"\} 1$/m);
    expect(t).toMatch(/^mcp_warden_tool_calls_total\{tool="execute_command",decision="deny"\} 1$/m);
    expect(t).toMatch(/^mcp_warden_policy_denials_total\{tool="execute_command",rule="[^"]+"\} 1$/m);
    expect(t).toMatch(/^mcp_warden_tool_duration_seconds_count\{tool="execute_command"\} 2$/m);
    expect(t).toMatch(/^mcp_warden_command_runs_total\{backend="native",outcome="exit_zero"\} 1$/m);
    expect(t).toMatch(/^mcp_warden_command_runs_total\{backend="native",outcome="denied"\} 1$/m);
    expect(t).toMatch(/^mcp_warden_sessions_active\{transport="http"\} 1$/m);
    expect(t).toMatch(/^mcp_warden_audit_records_total [1-9]\d*$/m);
    expect(t).toMatch(/^mcp_warden_audit_write_errors_total 0$/m);
    expect(t).toMatch(/^mcp_warden_approvals_pending 0$/m);
    expect(t).toMatch(/^mcp_warden_build_info\{version="[^"]+",backend="native"\} 1$/m);
    expect(t).toMatch(new RegExp(`^mcp_warden_policy_info\\{sha256="${s.deps.ops.policySha256}"\\} 1$`, "m"));
    expect(t).toMatch(/^mcp_warden_process_cpu_seconds_total \d/m);
    expect(t).toContain("# TYPE mcp_warden_approvals_total counter");
    for (const secret of [CANARY, s.root, c.transport.sessionId!, "/tmp", "/etc"]) expect(t).not.toContain(secret);
    // The approvals hook the queue calls.
    s.deps.ops.metrics.approvals.answered("approved");
    s.deps.ops.metrics.approvals.pending(2);
    const after = (await get("/metrics")).text;
    expect(after).toMatch(/^mcp_warden_approvals_total\{outcome="approved"\} 1$/m);
    expect(after).toMatch(/^mcp_warden_approvals_pending 2$/m);
    s.deps.ops.metrics.approvals.pending(0);
  });

  it("pages audit records with filters and a cursor, and names bad filters with a 400", async () => {
    const denied = await get("/api/v1/audit?decision=deny&tool=execute_command");
    expect(denied.status).toBe(200);
    expect(denied.json.records).toHaveLength(1);
    expect(denied.json.records[0]).toMatchObject({ tool: "execute_command", decision: "deny", session: c.transport.sessionId, transport: "http" });
    expect(denied.json.records[0].request).toMatch(/^\d+$/);
    const all: number[] = [];
    let cursor: number | null = null;
    do {
      const page: { json: { records: { seq: number }[]; next_cursor: number | null } } = await get(`/api/v1/audit?limit=2${cursor !== null ? `&cursor=${cursor}` : ""}`);
      all.push(...page.json.records.map((r) => r.seq));
      cursor = page.json.next_cursor;
    } while (cursor !== null);
    expect(all).toEqual(Array.from({ length: all.length }, (_, i) => i + 1));
    const newest = await get("/api/v1/audit?order=desc&limit=1");
    expect(newest.json.records[0].seq).toBe(all[all.length - 1]);
    expect((await get("/api/v1/audit?since=1h&rule=commands.*")).status).toBe(200);
    expect((await get(`/api/v1/audit?token=${TOKEN}`, {})).status).toBe(401);
    const bad: [string, RegExp][] = [
      ["decison=deny", /unknown filter "decison": use since, until, tool/],
      ["decision=maybe", /decision "maybe" is not one of allow, deny, error, intent/],
      ["since=yesterday", /since "yesterday" is not a time: give an ISO 8601 time .* or an age/],
      ["since=2026-12-04T10:00:00Z&until=2026-12-04T09:00:00Z", /is not before until/],
      ["limit=0", /limit 0 is out of range: give 1 to 1000/],
      ["cursor=-1", /cursor "-1" is not a non-negative integer/],
      ["tool=a%0Ab", /has characters an id never has/],
      ["tool=x&tool=y", /given twice/],
      ["session=", /is empty/],
    ];
    for (const [q, message] of bad) {
      const r = await get(`/api/v1/audit?${q}`);
      expect(r.status, q).toBe(400);
      expect(r.json.error.code).toBe("invalid_filter");
      expect(r.json.error.message).toMatch(message);
    }
    expect((await get("/api/v1/audit/stream?decision=nope")).status).toBe(400);
  });

  it("lists sessions and gives one session's timeline; an unknown session is a 404", async () => {
    const list = await get("/api/v1/sessions");
    const mine = list.json.sessions.find((x: { id: string }) => x.id === c.transport.sessionId);
    expect(mine).toMatchObject({ transport: "http", denied: 2 });
    const tl = await get(`/api/v1/sessions/${c.transport.sessionId}`);
    expect(tl.status).toBe(200);
    expect(tl.json.records.map((r: { tool: string }) => r.tool)).toEqual(expect.arrayContaining(["execute_command", "read_file"]));
    expect(tl.json.records.every((r: { session: string }) => r.session === c.transport.sessionId)).toBe(true);
    const none = await get("/api/v1/sessions/nope");
    expect(none.status).toBe(404);
    expect(none.json.error.message).toMatch(/no records of session "nope"/);
    const stats = await get("/api/v1/audit/stats?since=1h");
    expect(stats.json.top_denials[0]).toMatchObject({ tool: expect.any(String), count: 1 });
  });

  it("streams records live; after a dropped connection, Last-Event-ID resumes with no gap and no repeat", async () => {
    expect((await openSse(s.url, "/api/v1/audit/stream")).status).toBe(401);
    const first = await openSse(s.url, "/api/v1/audit/stream", AUTH);
    expect(first.status).toBe(200);
    await first.waitForComment(/heartbeat/);
    await c.call("execute_command", { command: "echo one" });
    const seen = await first.waitFor(2); // intent and outcome
    const lastId = seen[seen.length - 1]!.id!;
    first.drop();
    // While nobody listens: three calls (a denial, an allowed command, a read).
    await c.call("execute_command", { command: "ls /" });
    await c.call("execute_command", { command: "echo two" });
    await c.call("read_file", { path: "hello.txt" });
    const resumed = await openSse(s.url, "/api/v1/audit/stream", { ...AUTH, "last-event-id": lastId });
    const missed = await resumed.waitFor(4);
    await c.call("execute_command", { command: "echo three" });
    const events = await resumed.waitFor(6);
    const seqs = events.map((e) => Number(e.id));
    expect(seqs[0]).toBe(Number(lastId) + 1);
    expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => Number(lastId) + 1 + i));
    const records = events.map((e) => JSON.parse(e.data!));
    expect(records.map((r) => r.seq)).toEqual(seqs);
    expect(records.find((r) => r.decision === "deny")).toMatchObject({ tool: "execute_command", rule: expect.any(String) });
    expect(records.at(-1)).toMatchObject({ phase: "outcome", decision: "allow" });
    expect(missed.length).toBeGreaterThanOrEqual(4);
    // Live records carry the chain fields exactly as the log holds them.
    const page = await get(`/api/v1/audit?cursor=${seqs.at(-1)! - 1}&limit=1`);
    expect(page.json.records[0]).toEqual(records.at(-1));
    resumed.drop();
    const filtered = await openSse(s.url, "/api/v1/audit/stream?decision=deny", { ...AUTH, "last-event-id": "0" });
    const denials = await filtered.waitFor(3);
    expect(denials.every((e) => JSON.parse(e.data!).decision === "deny")).toBe(true);
    filtered.drop();
  });

  it("serves the dashboard with a strict CSP and no data; verify and status answer with the token", async () => {
    const page = await get("/dashboard/", {});
    expect(page.status).toBe(200);
    expect(page.headers["content-security-policy"]).toMatch(/script-src 'self'; style-src 'self'/);
    expect(page.headers["content-security-policy"]).not.toMatch(/unsafe-inline/);
    expect(page.text).not.toMatch(/<script>|style=/);
    expect((await get("/dashboard/../deps.js", {})).status).toBe(404);
    expect((await get("/api/v1/status", {})).status).toBe(401);
    const status = await get("/api/v1/status");
    expect(status.json).toMatchObject({ backend: "native", policy_sha256: s.deps.ops.policySha256, chain_head: { seq: expect.any(Number) } });
    const verify = await get("/api/v1/audit/verify");
    expect(verify.json).toMatchObject({ ok: true });
  });

  it("is ready with a writable log, a reachable backend and a policy; 503 with the reason once the log is lost", async () => {
    const ok = await get("/ready", {});
    expect(ok.status).toBe(200);
    expect(ok.json).toMatchObject({ status: "ready", checks: { audit: { ok: true }, backend: { ok: true }, policy: { ok: true } } });
    renameSync(s.auditLog, `${s.auditLog}.moved`);
    const refused = await c.call("write_file", { path: "x.txt", content: "x" });
    expect(refused.isError).toBe(true);
    const down = await get("/ready", {});
    expect(down.status).toBe(503);
    expect(down.json.reasons.join(" ")).toMatch(/^audit: the audit log is not writable/);
    expect(down.text).not.toContain(s.auditLog);
    expect((await get("/metrics")).text).toMatch(/^mcp_warden_audit_write_errors_total [1-9]/m);
  });
});
