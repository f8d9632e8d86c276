import type { IncomingMessage, ServerResponse } from "node:http";
import { randomUUID } from "node:crypto";
import { z } from "zod";
import { createApprover } from "../../../approvals/gate.js";
import { commandBridge } from "../../../exec/services.js";
import type { WardenDeps } from "../../deps.js";
import { HttpError, sendJson } from "../respond.js";

/** Body of POST /api/v1/execute: the foreground subset of execute_command's arguments. */
export const executeRequestSchema = z
  .object({
    command: z.string().min(1).describe("Shell-syntax command line, decided by the same policy as execute_command."),
    working_directory: z.string().min(1).optional().describe("Absolute, or relative to the first root; must lie inside a root."),
    timeout: z.number().positive().optional().describe("Seconds; at most the policy's execution.max_timeout_s."),
  })
  .strict();

/**
 * POST /api/v1/execute: runs a command through the same CommandBridge as the MCP tool, so
 * policy, limits and audit are identical; the audit record says `api.execute`. A denial is a 403
 * naming the rule; the request closing early aborts the command.
 */
export async function handleExecute(req: IncomingMessage, res: ServerResponse, body: unknown, deps: WardenDeps, client: string): Promise<void> {
  const parsed = executeRequestSchema.safeParse(body);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join(".") || "(body)"}: ${i.message}`);
    throw new HttpError(400, "invalid_request", `invalid request body: ${issues.join("; ")}`, { details: { issues } });
  }
  const bridge = commandBridge(deps.services);
  if (!bridge) throw new HttpError(503, "commands_unavailable", "command execution is not available on this server");
  const abort = new AbortController();
  const onClose = () => {
    if (!res.writableEnded) abort.abort();
  };
  res.once("close", onClose);
  const request = requestId(req);
  res.setHeader("x-request-id", request);
  const started = Date.now();
  try {
    // A command an ask rule matches waits in the operator queue (a REST caller cannot be asked itself).
    const approver = deps.approvals ? createApprover(deps.approvals, { session: null, transport: "rest", client, signal: abort.signal }) : undefined;
    const approve = approver ? { approve: (ask: { rule: string; reason: string }) => approver({ tool: "api.execute", args: parsed.data, rule: ask.rule, reason: ask.reason }) } : {};
    const outcome = await bridge.execute(parsed.data, { signal: abort.signal, tool: "api.execute", transport: "rest", client, session: null, request, ...approve });
    deps.ops.metrics.observeCall({
      tool: "api.execute",
      decision: !outcome.allowed ? (outcome.rule === "execution.busy" || outcome.rule === "audit.unavailable" ? "error" : "deny") : outcome.result?.error ? "error" : "allow",
      rule: outcome.rule,
      duration_ms: Date.now() - started,
      backend: outcome.backend,
      ...(outcome.result ? { exit_code: outcome.result.exit_code } : {}),
    });
    if (!outcome.allowed) {
      // Busy and an unwritable audit log are not policy denials: the same call may succeed later.
      const [status, code] = outcome.rule === "execution.busy" ? [429, "busy"] : outcome.rule === "audit.unavailable" ? [503, "audit_unavailable"] : [403, "denied"];
      throw new HttpError(status, code, `${outcome.reason} [rule: ${outcome.rule}]`, { details: { rule: outcome.rule } });
    }
    const result = outcome.result;
    if (!result) throw new HttpError(500, "internal_error", "the command bridge returned no result");
    if (result.error) {
      throw new HttpError(502, "backend_error", `the ${outcome.backend} backend failed: ${result.error}`, { details: { backend: outcome.backend } });
    }
    sendJson(res, 200, {
      exit_code: result.exit_code,
      ...(result.signal ? { signal: result.signal } : {}),
      stdout: result.stdout,
      stderr: result.stderr,
      timed_out: result.timed_out,
      truncated: result.truncated,
      duration_ms: result.duration_ms,
      // It ran, but the audit log holds only its intent.
      ...(outcome.unrecorded ? { audit_error: outcome.unrecorded } : {}),
    });
  } finally {
    res.off("close", onClose);
  }
}

/** The caller's X-Request-Id when it is a short token, else a new one: the audit record and the response carry it. */
function requestId(req: IncomingMessage): string {
  const given = req.headers["x-request-id"];
  return typeof given === "string" && /^[\w.:-]{1,100}$/.test(given) ? given : randomUUID();
}
