import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { WardenDeps } from "../deps.js";
import { sessionServerFactory } from "../session-workspaces.js";
import { McpSessions, sessionId } from "./mcp-sessions.js";
import { bearerAuth } from "./middleware/bearer-auth.js";
import { readJsonBody } from "./middleware/body-limit.js";
import { concurrencyLimit } from "./middleware/concurrency-limit.js";
import { hostAllowlist } from "./middleware/host-allowlist.js";
import { originAllowlist } from "./middleware/origin-allowlist.js";
import { hostHeaderName, resolveHttpOptions, type HttpOptions } from "./options.js";
import { HttpError, remoteAddress, sendError, sendJson, type RequestContext } from "./respond.js";
import { opsRoutes } from "./ops-routes.js";
import { approvalsApi } from "./rest/approvals.js";
import { handleExecute } from "./rest/execute.js";
import { openApiDocument } from "./rest/openapi.js";
import { handleHealth, handleSystemInfo } from "./rest/system-info.js";
import { workspaceRoutes } from "./rest/workspaces.js";
import { matchRoute, type Route } from "./route-table.js";

/** A running HTTP server. `close()` drains running calls (bounded by shutdownGraceMs); it does not close deps. */
export interface HttpServerHandle {
  url: string;
  close(): Promise<void>;
}

/**
 * `warden serve --http`: MCP Streamable HTTP at /mcp (one McpServer per session over the shared
 * deps) plus the REST API. Each request passes, in order: Host allowlist, Origin allowlist (403),
 * route, bearer token (401), per-client concurrency (429), body limit (413), handler.
 */
export async function startHttpServer(deps: WardenDeps, options: HttpOptions): Promise<HttpServerHandle> {
  const opts = resolveHttpOptions(options, deps.policy.filesystem.max_write_bytes);
  const checkHost = hostAllowlist(opts.allowedHosts);
  const checkOrigin = originAllowlist(opts.allowedOrigins);
  const checkAuth = bearerAuth(opts.token);
  const limiter = concurrencyLimit(opts.maxConcurrentPerClient);
  const serverFor = sessionServerFactory(deps);
  const sessions = new McpSessions((session) => serverFor({ transport: "http", ...session }), { maxSessions: opts.maxSessions, idleMs: opts.sessionIdleMs }, deps.log);
  const inFlight = new Set<ServerResponse>();
  let draining = false;
  let url = "";

  const routes: Record<string, Route> = {
    "/mcp": { methods: ["GET", "POST", "DELETE"], handle: (req, res, _ctx, body) => sessions.handle(req, res, body) },
    "/health": { methods: ["GET"], public: true, handle: (_req, res) => handleHealth(res, deps, draining) },
    "/api/v1/execute": { methods: ["POST"], handle: (req, res, ctx, body) => handleExecute(req, res, body, deps, ctx.remote) },
    "/api/v1/system/info": { methods: ["GET"], handle: (_req, res) => handleSystemInfo(res, deps) },
    "/api/v1/openapi.json": { methods: ["GET"], handle: (_req, res) => sendJson(res, 200, openApiDocument(deps.version, url)) },
    ...workspaceRoutes(deps, opts.stateDir),
    ...opsRoutes(deps, { draining: () => draining, ...(options.heartbeatMs ? { heartbeatMs: options.heartbeatMs } : {}) }),
    "/api/v1/approvals": { methods: ["GET"], handle: (req, res, ctx) => approvals.list(req, res, ctx.url) },
    "/api/v1/approvals/{id}": { methods: ["POST"], handle: (req, res, ctx, body) => approvals.answer(req, res, ctx.params?.id ?? "", body) },
  };
  const approvals = approvalsApi(deps.approvals, opts.token !== undefined);
  const detachOperator = deps.approvals && opts.token !== undefined ? deps.approvals.queue.attachOperator() : () => {};

  async function serve(req: IncomingMessage, res: ServerResponse, ctx: RequestContext): Promise<void> {
    checkHost(req);
    checkOrigin(req);
    const match = matchRoute(routes, ctx.url.pathname);
    if (!match) throw new HttpError(404, "not_found", `no route ${ctx.url.pathname} (see /api/v1/openapi.json; MCP is at /mcp)`);
    const { route } = match;
    ctx.params = match.params;
    if (!route.methods.includes(req.method ?? "")) {
      throw new HttpError(405, "method_not_allowed", `${req.method} is not allowed on ${ctx.url.pathname}`, { headers: { allow: route.methods.join(", ") } });
    }
    if (route.public) return route.handle(req, res, ctx, undefined);
    checkAuth(req);
    if (draining) throw new HttpError(503, "shutting_down", "the server is shutting down", { headers: { connection: "close" } });
    // A GET on /mcp is the long-lived notification stream (one per session): it holds no slot.
    const standaloneStream = (ctx.url.pathname === "/mcp" && req.method === "GET") || route.stream === true;
    if (!standaloneStream) {
      res.once("close", limiter.acquire(ctx.client));
      inFlight.add(res);
      res.once("close", () => inFlight.delete(res));
    }
    const body = req.method === "POST" ? await readJsonBody(req, opts.maxBodyBytes) : undefined;
    await route.handle(req, res, ctx, body);
  }

  const server = createServer((req, res) => {
    const ctx: RequestContext = {
      url: new URL(req.url ?? "/", "http://localhost"),
      shape: "rest",
      remote: remoteAddress(req),
      client: "",
      params: {},
    };
    if (ctx.url.pathname === "/mcp") ctx.shape = "jsonrpc";
    const sid = sessionId(req);
    ctx.client = ctx.url.pathname === "/mcp" && sid ? `session:${sid}` : `addr:${ctx.remote}`;
    serve(req, res, ctx).catch((err: unknown) => {
      const httpErr = err instanceof HttpError ? err : new HttpError(500, "internal_error", "internal server error");
      if (!(err instanceof HttpError)) deps.log(`http ${req.method} ${ctx.url.pathname}: ${(err as Error).stack ?? String(err)}`);
      sendError(res, ctx.shape, httpErr);
    });
  });
  server.on("clientError", (_err, socket) => {
    if (socket.writable) socket.end("HTTP/1.1 400 Bad Request\r\nconnection: close\r\n\r\n");
  });

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port, opts.host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  url = `http://${hostHeaderName(opts.host)}:${address.port}`;
  deps.liveWorkspaces?.servedAt(url);

  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      draining = true;
      detachOperator();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      const deadline = Date.now() + opts.shutdownGraceMs;
      while (inFlight.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      if (inFlight.size > 0) deps.log(`shutdown: ${inFlight.size} request(s) still running after ${opts.shutdownGraceMs} ms: cancelled`);
      await sessions.closeAll();
      server.closeAllConnections();
      await closed;
    })());

  return { url, close };
}
