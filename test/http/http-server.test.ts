import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startHttpServer } from "../../src/server/http/index.js";
import { makeTempDir, removeDir } from "../support/tree.js";
import { MCP_HEADERS, TOKEN, connectMcp, initializeBody, postJson, raw, startTestServer, testPolicy, textOf, type TestServer } from "./support.js";

describe("warden serve --http on loopback, no token", () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer({ maxBodyBytes: 64 * 1024, maxConcurrentPerClient: 2 });
  });
  afterAll(() => s?.close());

  it("serves MCP at /mcp: one session per client, file and command tools work", async () => {
    const a = await connectMcp(s.url);
    const b = await connectMcp(s.url);
    try {
      expect(a.transport.sessionId).toBeTruthy();
      expect(a.transport.sessionId).not.toBe(b.transport.sessionId);
      const tools = (await a.client.listTools()).tools.map((t) => t.name);
      expect(tools).toEqual(expect.arrayContaining(["read_file", "execute_command", "get_system_info"]));
      const read = await a.call("read_file", { path: "hello.txt" });
      expect(read.isError).toBeFalsy();
      expect(textOf(read)).toContain("hello over http");
      const run = await b.call("execute_command", { command: "echo from-b" });
      expect(run.isError).toBeFalsy();
      expect(run.structuredContent).toMatchObject({ exit_code: 0, stdout: "from-b\n" });
      const denied = await a.call("read_file", { path: ".env" });
      expect(denied.isError).toBe(true);
      expect(textOf(denied)).not.toContain("never-leaves");
    } finally {
      await a.close();
      await b.close();
    }
  });

  // The client opens its GET stream only after `initialized`; a roots/list sent at that moment
  // used to be dropped (every call then hung until the SDK's request timeout). The server now asks
  // inside the tool call, on the call's own stream.
  it("asks a client with roots capability for its roots and applies them at once", async () => {
    const c = await connectMcp(s.url, undefined, { roots: [`${s.root}/src`] });
    try {
      const inside = await c.call("read_file", { path: `${s.root}/src/a.ts` });
      expect(textOf(inside)).toContain("export const a");
      const outside = await c.call("read_file", { path: `${s.root}/hello.txt` });
      expect(outside.isError).toBe(true);
    } finally {
      await c.close();
    }
  });

  it("sends progress notifications on the call's SSE stream while a command runs", async () => {
    const c = await connectMcp(s.url);
    try {
      const progress: number[] = [];
      const result = await c.call("execute_command", { command: "sleep 6" }, (p) => progress.push(p.progress));
      expect(result.isError).toBeFalsy();
      expect(progress.length).toBeGreaterThanOrEqual(1);
    } finally {
      await c.close();
    }
  });

  it("closes a session on DELETE; the id is then unknown (404)", async () => {
    const c = await connectMcp(s.url);
    const sid = c.transport.sessionId!;
    await c.transport.terminateSession();
    await c.client.close();
    const r = await raw(s.url, { method: "POST", path: "/mcp", headers: { ...MCP_HEADERS, "mcp-session-id": sid, "mcp-protocol-version": "2025-06-18" }, body: JSON.stringify({ jsonrpc: "2.0", id: 2, method: "tools/list" }) });
    expect(r.status).toBe(404);
    expect(r.json.error.code).toBe(-32001);
  });

  it("a request without a session that is not initialize is a 400", async () => {
    const r = await raw(s.url, { method: "POST", path: "/mcp", headers: MCP_HEADERS, body: JSON.stringify({ jsonrpc: "2.0", id: 2, method: "tools/list" }) });
    expect(r.status).toBe(400);
    expect(r.json.jsonrpc).toBe("2.0");
  });

  it("malformed JSON on /mcp is a JSON-RPC parse error (400, -32700)", async () => {
    const r = await raw(s.url, { method: "POST", path: "/mcp", headers: MCP_HEADERS, body: "{nope" });
    expect(r.status).toBe(400);
    expect(r.json.error.code).toBe(-32700);
  });

  describe("DNS-rebinding protection", () => {
    it.each(["/mcp", "/api/v1/system/info", "/health"])("refuses a foreign Host on %s with 403", async (path) => {
      const r = await raw(s.url, { method: path === "/mcp" ? "POST" : "GET", path, headers: { ...MCP_HEADERS, host: "evil.example.com" }, body: path === "/mcp" ? initializeBody() : undefined });
      expect(r.status).toBe(403);
      expect(r.text).toMatch(/Host header/);
    });
    it("refuses a foreign Origin with 403, even with a loopback Host", async () => {
      const port = new URL(s.url).port;
      const r = await raw(s.url, { method: "POST", path: "/mcp", headers: { ...MCP_HEADERS, host: `localhost:${port}`, origin: "http://evil.example.com" }, body: initializeBody() });
      expect(r.status).toBe(403);
      expect(r.json).toMatchObject({ jsonrpc: "2.0", error: { code: -32000, data: { code: "forbidden_origin" } } });
    });
    it("accepts loopback Host and Origin", async () => {
      const port = new URL(s.url).port;
      const r = await raw(s.url, { method: "POST", path: "/mcp", headers: { ...MCP_HEADERS, host: `localhost:${port}`, origin: `http://localhost:${port}` }, body: initializeBody() });
      expect(r.status).toBe(200);
      expect(r.headers["mcp-session-id"]).toBeTruthy();
    });
  });

  describe("limits", () => {
    it("answers 413 with a JSON error for a body over the limit, on /mcp and on the REST API", async () => {
      const big = JSON.stringify({ command: "echo " + "x".repeat(70 * 1024) });
      const rest = await raw(s.url, { method: "POST", path: "/api/v1/execute", headers: { "content-type": "application/json" }, body: big });
      expect(rest.status).toBe(413);
      expect(rest.json.error).toMatchObject({ code: "payload_too_large", limit_bytes: 64 * 1024 });
      const mcp = await raw(s.url, { method: "POST", path: "/mcp", headers: MCP_HEADERS, body: big });
      expect(mcp.status).toBe(413);
      expect(mcp.json.error.data.code).toBe("payload_too_large");
    });

    it("answers 429 when one client has too many requests in flight", async () => {
      const calls = [1, 2, 3].map(() => postJson(s.url, "/api/v1/execute", { command: "sleep 1" }));
      const statuses = (await Promise.all(calls)).map((r) => r.status).sort();
      expect(statuses).toEqual([200, 200, 429]);
      const again = await postJson(s.url, "/api/v1/execute", { command: "true" });
      expect(again.status).toBe(200);
    });
  });

  describe("REST API", () => {
    it("GET /health: status, version, backend, uptime; no paths, no policy", async () => {
      const r = await raw(s.url, { path: "/health" });
      expect(r.status).toBe(200);
      expect(Object.keys(r.json).sort()).toEqual(["backend", "status", "uptime_s", "version"]);
      expect(r.json).toMatchObject({ status: "ok", version: s.deps.version, backend: "native" });
      expect(r.text).not.toContain(s.root);
    });

    it("POST /api/v1/execute runs through the bridge and is audited as api.execute", async () => {
      const r = await postJson(s.url, "/api/v1/execute", { command: "echo rest-ok", timeout: 10 });
      expect(r.status).toBe(200);
      expect(r.json).toMatchObject({ exit_code: 0, stdout: "rest-ok\n", timed_out: false, truncated: false });
      expect(r.json.duration_ms).toBeTypeOf("number");
      const audit = readFileSync(s.auditLog, "utf8").trim().split("\n").map((l) => JSON.parse(l));
      expect(audit.some((e) => e.tool === "api.execute" && e.decision === "allow")).toBe(true);
    });

    it("a denied command is a 403 naming the rule, audited as a denial", async () => {
      const r = await postJson(s.url, "/api/v1/execute", { command: "curl http://example.com" });
      expect(r.status).toBe(403);
      expect(r.json.error.code).toBe("denied");
      expect(r.json.error.rule).toBeTruthy();
      const audit = readFileSync(s.auditLog, "utf8").trim().split("\n").map((l) => JSON.parse(l));
      expect(audit.some((e) => e.tool === "api.execute" && e.decision === "deny")).toBe(true);
    });

    it.each([
      ["missing command", {}],
      ["unknown field", { command: "true", shell: "bash" }],
      ["wrong type", { command: "true", timeout: "10" }],
    ])("400 for a bad body: %s", async (_name, body) => {
      const r = await postJson(s.url, "/api/v1/execute", body);
      expect(r.status).toBe(400);
      expect(r.json.error.code).toBe("invalid_request");
    });

    it("400 for malformed JSON", async () => {
      const r = await raw(s.url, { method: "POST", path: "/api/v1/execute", headers: { "content-type": "application/json" }, body: "{" });
      expect(r.status).toBe(400);
      expect(r.json.error.code).toBe("invalid_json");
    });

    it("GET /api/v1/system/info is the get_system_info result", async () => {
      const r = await raw(s.url, { path: "/api/v1/system/info" });
      expect(r.status).toBe(200);
      expect(r.json).toMatchObject({ arch: process.arch, backend: "native" });
      expect(r.json.roots).toEqual([{ path: s.root, access: "read-write", source: "--root" }]);
      expect(r.json.client_roots).toEqual({ mode: "intersect", offered: null });
    });

    it("GET /api/v1/openapi.json is an OpenAPI 3.1 document of the routes", async () => {
      const r = await raw(s.url, { path: "/api/v1/openapi.json" });
      expect(r.status).toBe(200);
      expect(r.json.openapi).toBe("3.1.0");
      expect(Object.keys(r.json.paths)).toEqual(expect.arrayContaining(["/health", "/api/v1/execute", "/api/v1/system/info"]));
      expect(r.json.components.schemas.ExecuteRequest.required).toEqual(["command"]);
    });

    it("404 for an unknown route and 405 (with Allow) for a wrong method", async () => {
      const nf = await raw(s.url, { path: "/nope" });
      expect(nf.status).toBe(404);
      expect(nf.json.error.code).toBe("not_found");
      const na = await raw(s.url, { method: "GET", path: "/api/v1/execute" });
      expect(na.status).toBe(405);
      expect(na.headers.allow).toBe("POST");
    });
  });
});

describe("bearer token", () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer({ token: TOKEN });
  });
  afterAll(() => s?.close());

  it("refuses /mcp and the REST API without the token (401, WWW-Authenticate)", async () => {
    const mcp = await raw(s.url, { method: "POST", path: "/mcp", headers: MCP_HEADERS, body: initializeBody() });
    expect(mcp.status).toBe(401);
    expect(mcp.headers["www-authenticate"]).toMatch(/^Bearer/);
    const wrong = await postJson(s.url, "/api/v1/execute", { command: "true" }, { authorization: "Bearer wrong-token-0123456789" });
    expect(wrong.status).toBe(401);
    expect(wrong.json.error.code).toBe("unauthorized");
    expect((await raw(s.url, { path: "/api/v1/system/info" })).status).toBe(401);
    expect((await raw(s.url, { path: "/api/v1/openapi.json" })).status).toBe(401);
  });

  it("serves with the token; /health stays open for probes", async () => {
    const c = await connectMcp(s.url, TOKEN);
    try {
      expect(textOf(await c.call("read_file", { path: "hello.txt" }))).toContain("hello over http");
    } finally {
      await c.close();
    }
    const ok = await postJson(s.url, "/api/v1/execute", { command: "echo t" }, { authorization: `Bearer ${TOKEN}` });
    expect(ok.status).toBe(200);
    expect((await raw(s.url, { path: "/health" })).status).toBe(200);
  });

  it("refuses to start on a non-loopback address without a token", async () => {
    await expect(startHttpServer(s.deps, { host: "0.0.0.0", port: 0 })).rejects.toThrow(/refusing to listen on 0\.0\.0\.0 without a token/);
  });
});

describe("graceful shutdown", () => {
  it("lets a running call finish, refuses new work, then closes", async () => {
    const s = await startTestServer();
    try {
      const c = await connectMcp(s.url);
      const running = c.call("execute_command", { command: "sleep 1; echo finished" }).catch((e) => e);
      const rest = postJson(s.url, "/api/v1/execute", { command: "sleep 1" });
      await new Promise((r) => setTimeout(r, 300));
      const closed = s.http.close();
      const result = await running;
      expect(textOf(result)).toContain("finished");
      expect((await rest).status).toBe(200);
      await closed;
      await expect(raw(s.url, { path: "/health" })).rejects.toThrow(/ECONNREFUSED/);
    } finally {
      await s.close();
    }
  });

  it("cuts off calls still running when the grace period ends", async () => {
    const s = await startTestServer({ shutdownGraceMs: 500 });
    try {
      const rest = postJson(s.url, "/api/v1/execute", { command: "sleep 20" }).catch((e: Error) => e);
      await new Promise((r) => setTimeout(r, 300));
      const t0 = Date.now();
      await s.http.close();
      expect(Date.now() - t0).toBeLessThan(3000);
      expect(await rest).toBeInstanceOf(Error);
    } finally {
      await s.close();
    }
  });
});

describe("session limits", () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer({ maxSessions: 1, sessionIdleMs: 500 });
  });
  afterAll(() => s?.close());

  it("refuses a session over maxSessions (503), closes idle sessions, then accepts a new one", async () => {
    const first = await raw(s.url, { method: "POST", path: "/mcp", headers: MCP_HEADERS, body: initializeBody() });
    expect(first.status).toBe(200);
    const sid = first.headers["mcp-session-id"] as string;
    const second = await raw(s.url, { method: "POST", path: "/mcp", headers: MCP_HEADERS, body: initializeBody() });
    expect(second.status).toBe(503);
    expect(second.json.error.data.code).toBe("too_many_sessions");
    await new Promise((r) => setTimeout(r, 2500));
    const stale = await raw(s.url, { method: "POST", path: "/mcp", headers: { ...MCP_HEADERS, "mcp-session-id": sid, "mcp-protocol-version": "2025-06-18" }, body: JSON.stringify({ jsonrpc: "2.0", id: 3, method: "ping" }) });
    expect(stale.status).toBe(404);
    const third = await raw(s.url, { method: "POST", path: "/mcp", headers: MCP_HEADERS, body: initializeBody() });
    expect(third.status).toBe(200);
  });
});

describe("client roots over HTTP", () => {
  let elsewhere: string;
  beforeAll(() => {
    elsewhere = makeTempDir("warden-http-elsewhere-");
  });
  afterAll(() => removeDir(elsewhere));

  it("an empty intersection names both sides and the fix", async () => {
    const s = await startTestServer();
    const c = await connectMcp(s.url, undefined, { roots: [elsewhere] });
    try {
      const r = await c.call("read_file", { path: "hello.txt" });
      expect(r.isError).toBe(true);
      expect(textOf(r)).toContain(`client's roots (${elsewhere}) do not overlap the configured roots (${s.root} (read-write, --root))`);
      expect(textOf(r)).toContain("--client-roots ignore");
    } finally {
      await c.close();
      await s.close();
    }
  });

  it("filesystem.client_roots: ignore keeps the configured roots", async () => {
    const s = await startTestServer({}, { ...testPolicy(), filesystem: { client_roots: "ignore" } });
    const c = await connectMcp(s.url, undefined, { roots: [elsewhere] });
    try {
      expect(textOf(await c.call("read_file", { path: "hello.txt" }))).toContain("hello over http");
    } finally {
      await c.close();
      await s.close();
    }
  });
});

describe("protocol mistakes in the server's log", () => {
  it("are logged once per client and kind, not once per request", async () => {
    const s = await startTestServer();
    try {
      const send = (accept: string, agent: string) =>
        raw(s.url, { method: "POST", path: "/mcp", headers: { ...MCP_HEADERS, accept, "user-agent": agent }, body: initializeBody() });
      for (let i = 0; i < 3; i++) expect((await send("application/json", "script/1")).status).toBe(406);
      await send("application/json", "other-client/2");
      const lines = s.logs.filter((l) => l.startsWith("mcp transport:"));
      expect(lines).toHaveLength(2);
      expect(lines[0]).toMatch(/^mcp transport: 127\.0\.0\.1 "script\/1": Not Acceptable: .* \(logged once per client and kind\)$/);
      expect(lines[1]).toContain('"other-client/2": Not Acceptable');
    } finally {
      await s.close();
    }
  });
});

describe("audit records name their transport, client and session", () => {
  it("MCP over HTTP (file tool and command) and the REST API", async () => {
    const s = await startTestServer();
    const c = await connectMcp(s.url);
    try {
      const sid = c.transport.sessionId!;
      await c.call("read_file", { path: "hello.txt" });
      await c.call("execute_command", { command: "echo via-mcp" });
      await postJson(s.url, "/api/v1/execute", { command: "echo via-rest" });
      const records = readFileSync(s.auditLog, "utf8").trim().split("\n").map((l) => JSON.parse(l));
      const mcp = { transport: "http", client: "127.0.0.1 warden-http-test/1.0.0", session: sid };
      expect(records.find((r) => r.tool === "read_file")).toMatchObject(mcp);
      expect(records.find((r) => r.tool === "execute_command")).toMatchObject(mcp);
      expect(records.find((r) => r.tool === "api.execute")).toMatchObject({ transport: "rest", client: "127.0.0.1", session: null });
    } finally {
      await c.close();
      await s.close();
    }
  });
});
