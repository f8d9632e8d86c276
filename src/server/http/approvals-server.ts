import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import type { ApprovalServices } from "../../approvals/gate.js";
import { bearerAuth } from "./middleware/bearer-auth.js";
import { readJsonBody } from "./middleware/body-limit.js";
import { hostAllowlist } from "./middleware/host-allowlist.js";
import { HttpConfigError } from "./options.js";
import { HttpError, remoteAddress, sendError } from "./respond.js";
import { approvalsApi } from "./rest/approvals.js";
import { matchRoute, type Route } from "./route-table.js";

/**
 * The operator channel of a stdio server (`warden serve --approvals-port N`): only the approvals
 * API, on 127.0.0.1, always behind the bearer token. The MCP client owns stdin/stdout, so the
 * operator needs a door of its own.
 */
export async function startApprovalsServer(approvals: ApprovalServices, options: { port: number; token: string | undefined }): Promise<{ url: string; close(): Promise<void> }> {
  if (!options.token) {
    throw new HttpConfigError("--approvals-port needs a bearer token (a command could otherwise approve its own calls): give --token-file FILE or set WARDEN_TOKEN (e.g. openssl rand -hex 32)");
  }
  const host = "127.0.0.1";
  const checkHost = hostAllowlist(["127.0.0.1", "localhost", "[::1]"]);
  const checkAuth = bearerAuth(options.token);
  const api = approvalsApi(approvals, true);
  const routes: Record<string, Route> = {
    "/api/v1/approvals": { methods: ["GET"], handle: (req, res, ctx) => api.list(req, res, ctx.url) },
    "/api/v1/approvals/{id}": { methods: ["POST"], handle: (req, res, ctx, body) => api.answer(req, res, ctx.params.id ?? "", body) },
  };
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://localhost");
    (async () => {
      checkHost(req);
      const match = matchRoute(routes, url.pathname);
      if (!match) throw new HttpError(404, "not_found", `no route ${url.pathname}: this port serves only /api/v1/approvals`);
      const { route, params } = match;
      if (!route.methods.includes(req.method ?? "")) throw new HttpError(405, "method_not_allowed", `${req.method} is not allowed on ${url.pathname}`, { headers: { allow: route.methods.join(", ") } });
      checkAuth(req);
      const body = req.method === "POST" ? await readJsonBody(req, 64 * 1024) : undefined;
      await route.handle(req, res, { url, shape: "rest", remote: remoteAddress(req), client: `addr:${remoteAddress(req)}`, params }, body);
    })().catch((err: unknown) => sendError(res, "rest", err instanceof HttpError ? err : new HttpError(500, "internal_error", "internal server error")));
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", (err) => reject(new HttpConfigError(`--approvals-port ${options.port}: ${(err as Error).message}`)));
    server.listen(options.port, host, resolve);
  });
  const detach = approvals.queue.attachOperator();
  const url = `http://${host}:${(server.address() as AddressInfo).port}`;
  return {
    url,
    close: () =>
      new Promise<void>((resolve) => {
        detach();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
