import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import type { WardenDeps } from "../../deps.js";
import { hostAllowlist } from "../middleware/host-allowlist.js";
import { HttpError, sendError } from "../respond.js";
import { handleReady } from "../rest/ready.js";

/**
 * `warden serve --metrics-port N` (stdio mode): GET /metrics and /ready on 127.0.0.1 only, with the
 * Host check of the HTTP server (a rebinding page cannot read it). No token: loopback, and the
 * metrics carry no paths, commands or ids.
 */
export async function serveMetrics(deps: WardenDeps, port: number): Promise<{ url: string; close(): Promise<void> }> {
  const checkHost = hostAllowlist(["127.0.0.1", "localhost"]);
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? "/", "http://localhost").pathname;
    const serve = async () => {
      checkHost(req);
      if (req.method !== "GET") throw new HttpError(405, "method_not_allowed", `${req.method} is not allowed`, { headers: { allow: "GET" } });
      if (path === "/ready") return handleReady(res, deps, false);
      if (path !== "/metrics") throw new HttpError(404, "not_found", `no route ${path} (this port serves /metrics and /ready)`);
      const { text, contentType } = await deps.ops.metrics.expose();
      res.writeHead(200, { "content-type": contentType, "cache-control": "no-store" });
      res.end(text);
    };
    serve().catch((err: unknown) => sendError(res, "rest", err instanceof HttpError ? err : new HttpError(500, "internal_error", "internal server error")));
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", (err) => reject(new Error(`--metrics-port ${port}: cannot listen on 127.0.0.1: ${err.message}`)));
    server.listen(port, "127.0.0.1", () => resolve());
  });
  server.unref();
  const { port: bound } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${bound}`, close: () => new Promise((resolve) => server.close(() => resolve())) };
}
