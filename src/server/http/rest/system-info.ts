import type { ServerResponse } from "node:http";
import { commandBridge } from "../../../exec/services.js";
import { collectSystemInfo } from "../../../tools/get-system-info.js";
import type { WardenDeps } from "../../deps.js";
import { sendJson } from "../respond.js";

/** GET /api/v1/system/info: the get_system_info result for the configured roots (no client roots here). */
export function handleSystemInfo(res: ServerResponse, deps: WardenDeps): void {
  let roots = deps.configuredRoots.length ? deps.configuredRoots : [deps.fallbackRoot];
  if (deps.policy.filesystem.read_only) roots = roots.map((r) => ({ ...r, writable: false }));
  const state = { roots, configured: deps.configuredRoots, client: null, clientRoots: deps.clientRoots };
  sendJson(res, 200, collectSystemInfo(state, deps.policy, deps.services));
}

/** GET /health: liveness for probes and load balancers; version and backend, never paths or policy. */
export function handleHealth(res: ServerResponse, deps: WardenDeps, draining: boolean): void {
  const bridge = commandBridge(deps.services);
  sendJson(res, draining ? 503 : 200, {
    status: draining ? "shutting_down" : "ok",
    version: deps.version,
    backend: bridge?.describe().backend ?? deps.policy.execution.backend,
    uptime_s: Math.round((Date.now() - deps.startedAt) / 1000),
    // A cluster backend (slurm): the cluster and each session's job and node (no session ids).
    ...(bridge?.sessions ? { cluster: bridge.sessions() } : {}),
  });
}
