import { z } from "zod";
import { AUDIT_OUTCOME_UNRECORDED } from "../audit/types.js";
import { executeArgsShape } from "../exec/execute-args.js";
import { commandBridge } from "../exec/services.js";
import type { ExecResult } from "../exec/types.js";
import { defineTool, fail, ok } from "./tool.js";

/** execute_command: one shell-syntax command, decided part by part, run confined, audited by the bridge. */
export const executeCommandTool = defineTool({
  name: "execute_command",
  title: "Execute command",
  description:
    "Run a command line (POSIX shell syntax) inside the allowed roots. Every program in it must be allowed by the policy; " +
    "it runs confined (no access outside the roots, no network unless the policy allows it) with a timeout. " +
    "Returns exit_code, stdout, stderr (each capped: head and tail kept), timed_out, truncated, duration_ms. " +
    "With background=true it returns a handle for read_process_output / write_process_input / kill_process.",
  inputSchema: executeArgsShape,
  outputSchema: {
    exit_code: z.number().nullable(),
    stdout: z.string(),
    stderr: z.string(),
    timed_out: z.boolean(),
    truncated: z.boolean(),
    duration_ms: z.number(),
    handle: z.string().optional().describe("Background process handle (background=true)."),
  },
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: true },
  selfAudited: true,
  async handler(args, ctx) {
    const bridge = commandBridge(ctx.services);
    if (!bridge) return fail("execution.disabled", "command execution is not available on this server");
    let step = 0;
    const outcome = await bridge.execute(args, {
      signal: ctx.signal,
      roots: await ctx.roots(),
      tool: "execute_command",
      owner: ctx.session,
      ...ctx.caller,
      onProgress: (message) => void ctx.progress(++step, message).catch(() => undefined),
      ...(ctx.approve ? { approve: (ask) => ctx.approve!({ tool: "execute_command", args, rule: ask.rule, reason: ask.reason }) } : {}),
    });
    if (!outcome.allowed) return fail(outcome.rule, `denied by ${outcome.rule}: ${outcome.reason}`, { backend: outcome.backend });
    const started = outcome.handle ? `started background process ${outcome.handle}; read its output with read_process_output` : null;
    if (outcome.unrecorded) {
      // It ran: tell the client what happened, and that the log holds only its intent.
      const what = started ?? (outcome.result?.error ? `the command did not complete: ${outcome.result.error}` : formatResult(outcome.result!));
      return fail(AUDIT_OUTCOME_UNRECORDED, `the command ran, but its outcome could not be recorded (${outcome.unrecorded}); the audit log holds its intent without an outcome.\n${what}`);
    }
    if (started) {
      const structured = { exit_code: null, stdout: "", stderr: "", timed_out: false, truncated: false, duration_ms: 0, handle: outcome.handle };
      return ok(started, structured);
    }
    const result = outcome.result!;
    if (result.error) return fail("execution.error", `the command did not complete: ${result.error}`);
    return ok(formatResult(result), {
      exit_code: result.exit_code,
      stdout: result.stdout,
      stderr: result.stderr,
      timed_out: result.timed_out,
      truncated: result.truncated,
      duration_ms: result.duration_ms,
    }, { rule: outcome.rule, backend: outcome.backend, exit_code: result.exit_code });
  },
});

function formatResult(r: ExecResult): string {
  const status = r.timed_out ? `timed out after ${r.duration_ms} ms` : `exit_code: ${r.exit_code ?? `signal ${r.signal}`} (${r.duration_ms} ms)`;
  const parts = [status + (r.truncated ? ", output truncated (head and tail kept)" : "")];
  if (r.stdout) parts.push(`--- stdout ---\n${r.stdout}`);
  if (r.stderr) parts.push(`--- stderr ---\n${r.stderr}`);
  return parts.join("\n");
}
