import { chmodSync, lstatSync, unlinkSync } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { CommandBridge, ExecuteArgs } from "../types.js";
import { isLoopback, parseAgentAddress, type AgentAddress } from "./listen-address.js";
import type { AgentExecuteBody } from "./protocol.js";
import { bearerToken, tokenMatches } from "./token.js";

export interface AgentServerOptions {
  /** The agent's own bridge: its own policy, roots and native backend decide everything again. */
  bridge: CommandBridge;
  /** Bearer token every call but /v1/health must present. Required. */
  token: string;
  /** `127.0.0.1:8001` or `unix:/path` (default 127.0.0.1:8001). */
  listen?: string;
  /** Largest request body (default 4 MiB). */
  maxBodyBytes?: number;
  version?: string;
  log?: (message: string) => void;
}

export interface AgentServer {
  /** `http://127.0.0.1:PORT` or `unix:/path`: what HOST_AGENT_URL should say. */
  url: string;
  address: AgentAddress;
  close(): Promise<void>;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/**
 * `warden agent`: executes commands on this host for a server that cannot (one in a container).
 * Listens on loopback or a unix socket (mode 0600) only, checks a bearer token in constant time,
 * and runs every command through its OWN bridge: whatever the calling server decided, this
 * policy decides again, this audit log records it, and this native backend confines it.
 */
export async function startAgentServer(options: AgentServerOptions): Promise<AgentServer> {
  if (!options.token) throw new Error("the host agent needs a token (--token-file or HOST_AGENT_TOKEN)");
  const address = parseAgentAddress(options.listen ?? "127.0.0.1:8001");
  if (address.kind === "tcp" && !isLoopback(address.host)) {
    throw new Error(`the host agent listens on loopback or a unix socket only (not ${address.host}); put a TLS proxy in front for anything else`);
  }
  const maxBody = options.maxBodyBytes ?? 4 * 1024 * 1024;
  const started = Date.now();
  const log = options.log ?? (() => {});

  const server: Server = createServer((req, res) => {
    void handle(req, res).catch((err: unknown) => {
      const status = err instanceof HttpError ? err.status : 500;
      if (status === 500) log(`agent: ${(err as Error).message}`);
      send(res, status, { error: err instanceof HttpError ? err.message : "internal error" }, status === 401 ? { "www-authenticate": 'Bearer realm="warden-agent"' } : {});
    });
  });
  server.keepAliveTimeout = 60_000;
  server.headersTimeout = 15_000;
  server.requestTimeout = 0;

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://agent");
    if (req.method === "GET" && url.pathname === "/v1/health") {
      return send(res, 200, { status: "ok", version: options.version ?? "unknown", uptime_s: Math.round((Date.now() - started) / 1000) });
    }
    if (!tokenMatches(bearerToken(req.headers.authorization), options.token)) {
      req.resume();
      throw new HttpError(401, "missing or wrong bearer token");
    }
    if (req.method === "GET" && url.pathname === "/v1/info") return send(res, 200, options.bridge.describe());
    if (req.method !== "POST") throw new HttpError(url.pathname.startsWith("/v1/") ? 405 : 404, "not found");
    if (url.pathname === "/v1/execute") {
      const body = asExecute(await readJson(req, maxBody));
      const abort = new AbortController();
      res.on("close", () => {
        if (!res.writableFinished) abort.abort();
      });
      const outcome = await options.bridge.execute(body, { signal: abort.signal, tool: "agent.execute", transport: "agent", client: "host-agent", session: null });
      return send(res, 200, outcome);
    }
    if (url.pathname === "/v1/check") {
      const body = (await readJson(req, maxBody)) as { program?: unknown };
      if (typeof body.program !== "string") throw new HttpError(400, "program must be a string");
      return send(res, 200, await options.bridge.checkProgram(body.program));
    }
    throw new HttpError(404, "not found");
  }

  if (address.kind === "unix") {
    removeStaleSocket(address.path);
    const umask = process.umask(0o177);
    try {
      await listen(server, address.path);
    } finally {
      process.umask(umask);
    }
    chmodSync(address.path, 0o600);
  } else {
    await listen(server, address.port, address.host);
  }
  const bound = address.kind === "tcp" ? { ...address, port: (server.address() as AddressInfo).port } : address;
  const url = bound.kind === "tcp" ? `http://${bound.host.includes(":") ? `[${bound.host}]` : bound.host}:${bound.port}` : `unix:${bound.path}`;
  return {
    url,
    address: bound,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function listen(server: Server, ...args: [string] | [number, string]): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    const done = () => {
      server.off("error", reject);
      resolve();
    };
    if (args.length === 1) server.listen(args[0], done);
    else server.listen(args[0], args[1], done);
  });
}

/** A socket file left by a previous run is replaced; any other file at that path is an error. */
function removeStaleSocket(path: string): void {
  try {
    const st = lstatSync(path);
    if (!st.isSocket()) throw new Error(`${path} exists and is not a socket`);
    unlinkSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
  }
}

async function readJson(req: IncomingMessage, max: number): Promise<unknown> {
  const declared = Number(req.headers["content-length"] ?? 0);
  if (declared > max) {
    req.resume();
    throw new HttpError(413, `request body over ${max} bytes`);
  }
  if (!/^application\/json\b/i.test(req.headers["content-type"] ?? "")) throw new HttpError(415, "content-type must be application/json");
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > max) {
      req.destroy();
      throw new HttpError(413, `request body over ${max} bytes`);
    }
    chunks.push(chunk as Buffer);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString("utf8"));
  } catch {
    throw new HttpError(400, "body is not valid JSON");
  }
}

function asExecute(body: unknown): ExecuteArgs {
  if (!body || typeof body !== "object") throw new HttpError(400, "body must be an object");
  const b = body as Record<string, unknown>;
  if ("background" in b && b.background) throw new HttpError(400, "background processes are not offered by the host agent");
  const out: AgentExecuteBody = { command: b.command as string };
  for (const key of ["working_directory", "timeout", "env", "stdin"] as const) if (b[key] !== undefined) (out as unknown as Record<string, unknown>)[key] = b[key];
  // Types are checked by the bridge's own schema (input.invalid); unknown keys are dropped here.
  return out;
}

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  if (res.headersSent) return void res.end();
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text), "cache-control": "no-store", ...headers });
  res.end(text);
}
