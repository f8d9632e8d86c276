import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectMcp, postJson, startTestServer, testPolicy, type TestServer } from "../http/support.js";
import { makeTempDir, removeDir } from "../support/tree.js";
import { startWarden, type WardenClient } from "../support/warden-client.js";

/**
 * execution.max_concurrent_commands through the real servers: over stdio (one session), and over
 * HTTP where two MCP sessions and the REST API share one limit. The refused call answers at once
 * with execution.busy, naming the limit and how many run, and its refusal is in the audit log.
 */
describe("concurrent commands over stdio", () => {
  let dir: string;
  let w: WardenClient;
  beforeAll(async () => {
    dir = makeTempDir("warden-busy-");
    mkdirSync(join(dir, "root"));
    writeFileSync(join(dir, "policy.json"), JSON.stringify({ execution: { max_concurrent_commands: 2 } }));
    w = await startWarden(["--root", join(dir, "root"), "--policy", join(dir, "policy.json"), "--audit-log", join(dir, "audit.jsonl"), "--allow", "sleep"]);
  });
  afterAll(async () => {
    await w.close();
    removeDir(dir);
  });

  it("the third of three parallel sleeps is refused at once with execution.busy; the others run", async () => {
    const finished: number[] = [];
    const results = await Promise.all([1, 2, 3].map((i) => w.call("execute_command", { command: `sleep 2`, timeout: 30 }).then((r) => (finished.push(i), { r, i }))));
    const busy = results.filter(({ r }) => r.isError);
    expect(busy).toHaveLength(1);
    expect(w.text(busy[0]!.r)).toMatch(/busy: 2 commands are running on this server, the limit is 2 \(policy execution\.max_concurrent_commands\).*\[rule: execution\.busy\]/s);
    // At once: the refusal comes back before either running sleep ends (an order, not a time).
    expect(finished[0]).toBe(busy[0]!.i);
    expect(results.filter(({ r }) => !r.isError).every(({ r }) => (r.structuredContent as { exit_code: number }).exit_code === 0)).toBe(true);
    const log = readFileSync(join(dir, "audit.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l));
    expect(log.filter((r) => r.rule === "execution.busy")).toEqual([expect.objectContaining({ tool: "execute_command", decision: "deny", args: { command: "sleep 2", timeout: 30 } })]);
  });
});

describe("concurrent commands over HTTP: sessions and the REST API share the limit", () => {
  let s: TestServer;
  beforeAll(async () => {
    const policy = testPolicy() as { execution: Record<string, unknown> };
    s = await startTestServer({}, { ...policy, execution: { ...policy.execution, max_concurrent_commands: 2, max_background: 8 } });
  });
  afterAll(async () => {
    await s.close();
  });

  it("a background process in one session and a command in another fill it; REST gets 429 busy until one ends", async () => {
    const a = await connectMcp(s.url);
    const b = await connectMcp(s.url);
    try {
      const started = await a.call("execute_command", { command: "sleep 30", background: true });
      const handle = (started.structuredContent as { handle: string }).handle;
      expect(handle).toBeTruthy();
      const running = b.call("execute_command", { command: "sleep 2" });
      await new Promise((r) => setTimeout(r, 500));
      const rest = await postJson(s.url, "/api/v1/execute", { command: "echo hi" });
      expect(rest.status).toBe(429);
      expect(rest.json.error).toMatchObject({ code: "busy", rule: "execution.busy", message: expect.stringMatching(/the limit is 2/) });
      const third = await b.call("execute_command", { command: "echo hi" });
      expect(third.isError).toBe(true);
      expect((await running).isError ?? false).toBe(false);
      // Session b's command ended: one slot is free again.
      expect((await postJson(s.url, "/api/v1/execute", { command: "echo free" })).json).toMatchObject({ stdout: "free\n" });
      await a.call("kill_process", { handle, signal: "SIGKILL" });
      const both = await Promise.all([postJson(s.url, "/api/v1/execute", { command: "sleep 1" }), postJson(s.url, "/api/v1/execute", { command: "sleep 1" })]);
      expect(both.map((r) => r.status)).toEqual([200, 200]);
    } finally {
      await a.close();
      await b.close();
    }
  });
});
