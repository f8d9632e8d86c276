import { constants } from "node:fs";
import { access } from "node:fs/promises";
import type { ServerResponse } from "node:http";
import { commandBridge } from "../../../exec/services.js";
import type { WardenDeps } from "../../deps.js";
import { sendJson } from "../respond.js";

/** How long the backend may take to answer the readiness probe. */
const BACKEND_PROBE_MS = 5_000;

interface Check {
  ok: boolean;
  detail: string;
}

/**
 * GET /ready: 200 when the server can do its work, 503 with the reasons when not. Public like
 * /health, so no paths or secrets: the audit log is writable and its last write succeeded, the
 * backend answers (it finds `sh` on the policy's trusted PATH), a policy is loaded (its sha256).
 */
export async function handleReady(res: ServerResponse, deps: WardenDeps, draining: boolean): Promise<void> {
  const checks = { audit: await auditCheck(deps), backend: await backendCheck(deps), policy: { ok: true, detail: `loaded, sha256 ${deps.ops.policySha256}` } };
  const reasons = Object.entries(checks)
    .filter(([, c]) => !c.ok)
    .map(([name, c]) => `${name}: ${c.detail}`);
  if (draining) reasons.unshift("server: shutting down");
  sendJson(res, reasons.length ? 503 : 200, { status: reasons.length ? "not_ready" : "ready", reasons, checks });
}

async function auditCheck(deps: WardenDeps): Promise<Check> {
  if (!deps.auditFiles) return { ok: true, detail: "no audit log configured" };
  try {
    await access(deps.auditFiles.log, constants.W_OK);
  } catch (err) {
    return { ok: false, detail: `the audit log is not writable (${(err as NodeJS.ErrnoException).code ?? "error"}): calls that change something are refused; see the server log` };
  }
  if (deps.ops.feed.lastError) return { ok: false, detail: "the last audit write failed: calls that change something are refused; see the server log" };
  return { ok: true, detail: `writable, ${deps.ops.feed.head()?.seq ?? 0} records` };
}

async function backendCheck(deps: WardenDeps): Promise<Check> {
  const bridge = commandBridge(deps.services);
  if (!bridge) return { ok: true, detail: "commands are not served" };
  const name = bridge.describe().backend;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<"timeout">((resolve) => (timer = setTimeout(() => resolve("timeout"), BACKEND_PROBE_MS)));
  try {
    const check = await Promise.race([bridge.checkProgram("sh"), timeout]);
    if (check === "timeout") return { ok: false, detail: `the ${name} backend did not answer within ${BACKEND_PROBE_MS / 1000} s` };
    return check.exists ? { ok: true, detail: `${name} answers` } : { ok: false, detail: `the ${name} backend is unreachable or finds no sh on the trusted PATH` };
  } catch (err) {
    return { ok: false, detail: `the ${name} backend failed: ${(err as Error).message}` };
  } finally {
    clearTimeout(timer);
  }
}
