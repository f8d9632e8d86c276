import type { IncomingMessage, ServerResponse } from "node:http";

/**
 * Which error shape a route speaks: `/mcp` answers with a JSON-RPC error envelope (what MCP
 * clients parse), the REST API with `{error: {code, message}}`.
 */
export type ErrorShape = "jsonrpc" | "rest";

/** Per-request facts the middlewares and handlers share. */
export interface RequestContext {
  url: URL;
  shape: ErrorShape;
  /** Remote address of the TCP peer. */
  remote: string;
  /** Key of the client for concurrency limits: the MCP session when there is one, else the address. */
  client: string;
  /** The route pattern's `{name}` segments (see route-table.ts). */
  params: Record<string, string>;
}

/** A refusal with an HTTP status; middlewares throw it, the server turns it into a JSON error. */
export class HttpError extends Error {
  override name = "HttpError";
  readonly headers: Record<string, string>;
  readonly details: Record<string, unknown>;
  /** JSON-RPC error code used in the `/mcp` shape (-32000 server error unless said otherwise). */
  readonly rpcCode: number;
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    extra: { headers?: Record<string, string>; details?: Record<string, unknown>; rpcCode?: number } = {},
  ) {
    super(message);
    this.headers = extra.headers ?? {};
    this.details = extra.details ?? {};
    this.rpcCode = extra.rpcCode ?? -32000;
  }
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json; charset=utf-8", "content-length": Buffer.byteLength(text), ...headers });
  res.end(text);
}

/** Writes an HttpError in the route's shape (no-op when a response has already started). */
export function sendError(res: ServerResponse, shape: ErrorShape, err: HttpError): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  const body =
    shape === "jsonrpc"
      ? { jsonrpc: "2.0", error: { code: err.rpcCode, message: err.message, data: { http_status: err.status, code: err.code, ...err.details } }, id: null }
      : { error: { code: err.code, message: err.message, ...err.details } };
  sendJson(res, err.status, body, err.headers);
}

/** The remote address, for limits and audit records. */
export function remoteAddress(req: IncomingMessage): string {
  return req.socket.remoteAddress ?? "unknown";
}
