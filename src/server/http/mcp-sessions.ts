import { randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import { isInitializeRequest } from "@modelcontextprotocol/sdk/types.js";
import { clientLabel, ProtocolErrorLog } from "./protocol-error-log.js";
import { HttpError, remoteAddress } from "./respond.js";

interface Session {
  transport: StreamableHTTPServerTransport;
  server: McpServer;
  lastSeen: number;
  /** Requests (including open SSE streams) still being served; a session with any is not idle. */
  active: number;
}

/**
 * The MCP sessions of one HTTP server: one McpServer and one Streamable HTTP transport per
 * session, created on `initialize`, found by the `Mcp-Session-Id` header afterwards, closed on
 * DELETE, on idleness or at shutdown. Everything else (SSE, resumption rules, protocol headers)
 * is the SDK transport's job.
 */
export class McpSessions {
  private readonly sessions = new Map<string, Session>();
  private readonly sweeper: NodeJS.Timeout;
  private readonly protocolErrors: ProtocolErrorLog;

  constructor(
    /** A server for one new session: its id (the Mcp-Session-Id it will get) and the peer's address. */
    private readonly createServer: (session: { id: string; peer: string }) => McpServer | Promise<McpServer>,
    private readonly limits: { maxSessions: number; idleMs: number },
    private readonly log: (message: string) => void,
  ) {
    this.protocolErrors = new ProtocolErrorLog(log);
    this.sweeper = setInterval(() => this.closeIdle(), Math.min(60_000, Math.max(1000, limits.idleMs / 4)));
    this.sweeper.unref();
  }

  /** Serves one request on `/mcp`; `body` is the parsed JSON of a POST. */
  async handle(req: IncomingMessage, res: ServerResponse, body: unknown): Promise<void> {
    const id = sessionId(req);
    if (id !== undefined) {
      const session = this.sessions.get(id);
      if (!session) throw new HttpError(404, "session_not_found", "Session not found (it expired or the server restarted): initialize again", { rpcCode: -32001 });
      session.lastSeen = Date.now();
      session.active++;
      res.once("close", () => {
        session.active--;
        session.lastSeen = Date.now();
      });
      await session.transport.handleRequest(req, res, body);
      return;
    }
    if (req.method !== "POST" || !isInitializeRequest(body)) {
      throw new HttpError(400, "missing_session", "Bad Request: Mcp-Session-Id header is required (send initialize first)");
    }
    if (this.sessions.size >= this.limits.maxSessions) {
      throw new HttpError(503, "too_many_sessions", `too many MCP sessions open (limit ${this.limits.maxSessions}); close one (DELETE /mcp) or retry later`, {
        headers: { "retry-after": "5" },
      });
    }
    await this.open(req, res, body);
  }

  private async open(req: IncomingMessage, res: ServerResponse, body: unknown): Promise<void> {
    const id = randomUUID();
    const server = await this.createServer({ id, peer: remoteAddress(req) });
    const transport: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => id,
      onsessioninitialized: (sid) => {
        this.sessions.set(sid, { transport, server, lastSeen: Date.now(), active: 0 });
      },
    });
    transport.onclose = () => {
      const sid = transport.sessionId;
      if (sid) this.sessions.delete(sid);
    };
    const client = clientLabel(req);
    transport.onerror = (err) => this.protocolErrors.report(client, err);
    await server.connect(transport);
    await transport.handleRequest(req, res, body);
    // initialize refused by the transport (bad headers, bad params): nothing to keep.
    if (!transport.sessionId || !this.sessions.has(transport.sessionId)) await server.close().catch(() => {});
  }

  private closeIdle(): void {
    const cutoff = Date.now() - this.limits.idleMs;
    for (const [sid, s] of this.sessions) {
      if (s.active === 0 && s.lastSeen < cutoff) {
        this.log(`mcp session ${sid} idle for ${Math.round(this.limits.idleMs / 1000)} s: closed`);
        this.sessions.delete(sid);
        void s.server.close().catch(() => {});
      }
    }
  }

  /** Closes every session (aborting calls still running) and stops the idle sweeper. */
  async closeAll(): Promise<void> {
    clearInterval(this.sweeper);
    const all = [...this.sessions.values()];
    this.sessions.clear();
    await Promise.all(all.map((s) => s.server.close().catch(() => {})));
  }
}

/** The `Mcp-Session-Id` header, when present and single. */
export function sessionId(req: IncomingMessage): string | undefined {
  const v = req.headers["mcp-session-id"];
  return Array.isArray(v) ? v[0] : v;
}
