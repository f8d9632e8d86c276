import { existsSync } from "node:fs";
import { join } from "node:path";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { connectMcp, postJson, raw, startTestServer, textOf, TOKEN, type TestServer } from "../http/support.js";
import { askPolicy, SECRET_TOKEN } from "./support.js";

/**
 * A client that cannot elicit (like OpenCode 1.18) waits in the operator queue of a real HTTP
 * server; the test is the operator, over the REST API with the token.
 */

const AUTH = { authorization: `Bearer ${TOKEN}` };
const TOUCH = { command: `touch marker && echo ${SECRET_TOKEN}` };

async function pendingOne(s: TestServer): Promise<{ id: string; question: string; rule: string; state: string }> {
  for (let i = 0; i < 200; i++) {
    const r = await raw(s.url, { path: "/api/v1/approvals", headers: AUTH });
    expect(r.status, r.text).toBe(200);
    if (r.json.approvals.length > 0) return r.json.approvals[0];
    await new Promise((res) => setTimeout(res, 50));
  }
  throw new Error("nothing arrived in the approval queue");
}

describe("the operator queue over REST (token required)", () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer({ token: TOKEN }, askPolicy({ approvals: { timeout_s: 60, progress_interval_s: 1 } }));
  });
  afterAll(() => s.close());

  test("the call waits (progress keeps a 3 s client timeout from firing), runs once after approve; answering again is 409", async () => {
    const mcp = await connectMcp(s.url, TOKEN);
    // Warm up (the shell parser loads on the first command) so the timeout below measures the wait only.
    expect(textOf(await mcp.call("execute_command", { command: "echo warm" }))).toContain("warm");
    const progress: string[] = [];
    const pending = mcp.client.callTool({ name: "execute_command", arguments: TOUCH }, undefined, {
      timeout: 3000,
      resetTimeoutOnProgress: true,
      onprogress: (p) => progress.push(p.message ?? ""),
    }) as Promise<CallToolResult>;
    const a = await pendingOne(s);
    expect(a).toMatchObject({ state: "pending", rule: "ask-touch" });
    expect(a.question).toContain("touch marker");
    expect(a.question).not.toContain(SECRET_TOKEN);
    // Longer than the client's own timeout: only the progress notifications keep the call alive.
    for (let i = 0; i < 100 && progress.length < 5; i++) await new Promise((res) => setTimeout(res, 100));
    expect(progress.length, JSON.stringify(progress)).toBeGreaterThanOrEqual(5);
    expect(existsSync(join(s.root, "marker"))).toBe(false);
    expect(progress[0]).toContain(a.id);
    expect((await raw(s.url, { path: "/api/v1/approvals" })).status).toBe(401);
    expect((await postJson(s.url, `/api/v1/approvals/${a.id}`, { decision: "approve" })).status).toBe(401);
    expect(existsSync(join(s.root, "marker"))).toBe(false);

    const ok = await postJson(s.url, `/api/v1/approvals/${a.id}`, { decision: "approve" }, AUTH);
    expect(ok.status, ok.text).toBe(200);
    expect(ok.json.approval).toMatchObject({ id: a.id, state: "approved" });
    const result = await pending;
    expect(result.isError ?? false, textOf(result)).toBe(false);
    expect(existsSync(join(s.root, "marker"))).toBe(true);
    for (const decision of ["approve", "deny"]) {
      const again = await postJson(s.url, `/api/v1/approvals/${a.id}`, { decision }, AUTH);
      expect(again.status).toBe(409);
      expect(again.json.error.message).toMatch(/already answered \(approved/);
    }
    const all = await raw(s.url, { path: "/api/v1/approvals?all=1", headers: AUTH });
    expect(all.json).toMatchObject({ pending: 0, approvals: [{ id: a.id, state: "approved" }] });
    await mcp.close();
  }, 30_000);

  test("deny: the call is denied naming the ask rule and never runs", async () => {
    const mcp = await connectMcp(s.url, TOKEN);
    const pending = mcp.call("execute_command", { command: "touch denied-marker" }, () => {});
    const a = await pendingOne(s);
    const no = await postJson(s.url, `/api/v1/approvals/${a.id}`, { decision: "deny" }, AUTH);
    expect(no.status).toBe(200);
    const result = await pending;
    expect(result.isError).toBe(true);
    expect(textOf(result)).toMatch(/not approved \(denied\).*ask-touch/s);
    expect(existsSync(join(s.root, "denied-marker"))).toBe(false);
    await mcp.close();
  });

  test("the REST API's own execute waits in the same queue", async () => {
    const run = postJson(s.url, "/api/v1/execute", { command: "touch rest-marker" }, AUTH);
    const a = await pendingOne(s);
    expect(a.question).toContain("api.execute");
    expect(existsSync(join(s.root, "rest-marker"))).toBe(false);
    await postJson(s.url, `/api/v1/approvals/${a.id}`, { decision: "approve" }, AUTH);
    expect((await run).status).toBe(200);
    expect(existsSync(join(s.root, "rest-marker"))).toBe(true);
  });

  // [what, method, path, body, status, error code]
  const BAD: [string, string, string, unknown, number, string][] = [
    ["unknown id", "POST", "/api/v1/approvals/0123456789abcdef", { decision: "approve" }, 404, "unknown_approval"],
    ["malformed id", "POST", "/api/v1/approvals/..%2F..%2Fetc", { decision: "approve" }, 404, "unknown_approval"],
    ["bad decision", "POST", "/api/v1/approvals/0123456789abcdef", { decision: "yes" }, 400, "bad_decision"],
    ["no decision", "POST", "/api/v1/approvals/0123456789abcdef", {}, 400, "bad_decision"],
    ["extra fields", "POST", "/api/v1/approvals/0123456789abcdef", { decision: "approve", all: true }, 400, "invalid_request"],
    ["not an object", "POST", "/api/v1/approvals/0123456789abcdef", ["approve"], 400, "invalid_request"],
    ["malformed filter", "GET", "/api/v1/approvals?all=yes", undefined, 400, "invalid_filter"],
    ["GET on one approval", "GET", "/api/v1/approvals/0123456789abcdef", undefined, 405, "method_not_allowed"],
  ];
  test.each(BAD)("%s -> %s %s", async (_what, method, path, body, status, code) => {
    const r = body === undefined ? await raw(s.url, { method, path, headers: AUTH }) : await postJson(s.url, path, body, AUTH);
    expect(r.status, r.text).toBe(status);
    expect(r.json.error.code).toBe(code);
    expect(r.json.error.message.length).toBeGreaterThan(10);
  });
});

describe("expiry and missing token", () => {
  test("no answer before approvals.timeout_s: denied (timeout); a late approve is 410 and runs nothing", async () => {
    const s = await startTestServer({ token: TOKEN }, askPolicy({ approvals: { timeout_s: 1, progress_interval_s: 1 } }));
    try {
      const mcp = await connectMcp(s.url, TOKEN);
      const result = await mcp.call("execute_command", { command: "touch late-marker" }, () => {});
      expect(textOf(result)).toMatch(/not approved \(timeout\)/);
      const all = await raw(s.url, { path: "/api/v1/approvals?all=1", headers: AUTH });
      const id = all.json.approvals[0].id as string;
      const late = await postJson(s.url, `/api/v1/approvals/${id}`, { decision: "approve" }, AUTH);
      expect(late.status).toBe(410);
      expect(late.json.error.code).toBe("approval_expired");
      expect(existsSync(join(s.root, "late-marker"))).toBe(false);
      await mcp.close();
    } finally {
      await s.close();
    }
  });

  test("a server without a token answers no approvals (403) and so asks nobody: ask calls are denied at once", async () => {
    const s = await startTestServer({}, askPolicy());
    try {
      const r = await raw(s.url, { path: "/api/v1/approvals" });
      expect(r.status).toBe(403);
      expect(r.json.error.message).toMatch(/--token-file/);
      const mcp = await connectMcp(s.url);
      const result = await mcp.call("execute_command", { command: "touch never" });
      expect(textOf(result)).toMatch(/not approved \(unavailable\)/);
      expect(existsSync(join(s.root, "never"))).toBe(false);
      await mcp.close();
    } finally {
      await s.close();
    }
  });
});
