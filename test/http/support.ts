import { request } from "node:http";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { ListRootsRequestSchema, type CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { buildDeps, type WardenDeps } from "../../src/server/deps.js";
import { startHttpServer, type HttpOptions, type HttpServerHandle } from "../../src/server/http/index.js";
import { makeTempDir, removeDir, writeTree } from "../support/tree.js";

export const TOKEN = "test-token-0123456789abcdef";

export interface TestServer {
  deps: WardenDeps;
  http: HttpServerHandle;
  url: string;
  /** The read-write root (with hello.txt and a .env secret). */
  root: string;
  auditLog: string;
  /** What the server logged (its stderr lines). */
  logs: string[];
  close(): Promise<void>;
}

/** A real server: real policy file, real deps (sandbox, command bridge, audit log), on 127.0.0.1:0. */
export async function startTestServer(http: Partial<HttpOptions> = {}, policy: Record<string, unknown> = testPolicy(), opts: { auditLog?: string } = {}): Promise<TestServer> {
  const root = makeTempDir("warden-http-root-");
  const etc = makeTempDir("warden-http-etc-");
  writeTree(root, { "hello.txt": "hello over http\n", ".env": "SECRET=never-leaves\n", "src/a.ts": "export const a = 1;\n" });
  const policyPath = join(etc, "policy.json");
  writeFileSync(policyPath, JSON.stringify(policy));
  const auditLog = opts.auditLog ?? join(etc, "audit.jsonl");
  const logs: string[] = [];
  const deps = await buildDeps({
    roots: [root],
    readOnly: [],
    allow: [],
    policyPath,
    auditLog,
    privileged: false,
    cwd: root,
    env: { ...process.env, WARDEN_TOKEN: "" },
    log: (message) => logs.push(message),
  });
  const handle = await startHttpServer(deps, { host: "127.0.0.1", port: 0, ...http });
  return {
    deps,
    http: handle,
    url: handle.url,
    root,
    auditLog,
    logs,
    async close() {
      await handle.close();
      await deps.close();
      removeDir(root);
      removeDir(etc);
    },
  };
}

/** Commands the HTTP tests run: echo, sleep, cat; bubblewrap when present. */
export function testPolicy(): Record<string, unknown> {
  return {
    commands: { allow: [{ program: "echo" }, { program: "sleep" }, { program: "cat" }, { program: "true" }] },
    execution: { timeout_s: 30 },
  };
}

export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json: any; // eslint-disable-line @typescript-eslint/no-explicit-any
}

/** One HTTP request with full control over headers (fetch cannot set Host). */
export function raw(url: string, opts: { method?: string; path?: string; headers?: Record<string, string>; body?: string | Buffer } = {}): Promise<RawResponse> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const req = request(
      { host: u.hostname, port: u.port, method: opts.method ?? "GET", path: opts.path ?? "/", headers: opts.headers ?? {}, agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString("utf8");
          let json: unknown;
          try {
            json = JSON.parse(text);
          } catch {
            json = undefined;
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
        });
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    if (opts.body !== undefined) req.write(opts.body);
    req.end();
  });
}

/** JSON POST helper for the REST API. */
export function postJson(url: string, path: string, body: unknown, headers: Record<string, string> = {}): Promise<RawResponse> {
  return raw(url, { method: "POST", path, headers: { "content-type": "application/json", ...headers }, body: JSON.stringify(body) });
}

/** An initialize request as a raw MCP client sends it. */
export function initializeBody(): string {
  return JSON.stringify({
    jsonrpc: "2.0",
    id: 1,
    method: "initialize",
    params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "raw", version: "1" } },
  });
}

export const MCP_HEADERS = { "content-type": "application/json", accept: "application/json, text/event-stream" };

export interface HttpMcpClient {
  client: Client;
  transport: StreamableHTTPClientTransport;
  call(name: string, args?: Record<string, unknown>, onprogress?: (p: { progress: number; message?: string }) => void): Promise<CallToolResult>;
  close(): Promise<void>;
}

/** The SDK's own Streamable HTTP client, as a user's MCP client would connect. */
export async function connectMcp(url: string, token?: string, opts: { roots?: string[] } = {}): Promise<HttpMcpClient> {
  const client = new Client({ name: "warden-http-test", version: "1.0.0" }, { capabilities: opts.roots ? { roots: { listChanged: true } } : {} });
  if (opts.roots) {
    const roots = opts.roots;
    client.setRequestHandler(ListRootsRequestSchema, async () => ({ roots: roots.map((p) => ({ uri: `file://${p}`, name: p })) }));
  }
  const transport = new StreamableHTTPClientTransport(new URL(`${url}/mcp`), token ? { requestInit: { headers: { authorization: `Bearer ${token}` } } } : {});
  await client.connect(transport);
  return {
    client,
    transport,
    call: async (name, args = {}, onprogress) =>
      (await client.callTool({ name, arguments: args }, undefined, onprogress ? { onprogress, timeout: 120_000 } : {})) as CallToolResult,
    close: async () => {
      await transport.terminateSession().catch(() => {});
      await client.close();
    },
  };
}

export function textOf(result: CallToolResult): string {
  return result.content.map((c) => (c.type === "text" ? c.text : "")).join("\n");
}
