import { z } from "zod";
import { commandBridge } from "../exec/services.js";
import { defineTool, fail, ok } from "./tool.js";

/** check_command_exists: whether a program is on the backend's trusted PATH and whether the policy allows it. */
export const checkCommandExistsTool = defineTool({
  name: "check_command_exists",
  title: "Check command exists",
  description:
    "Whether a program exists on the command backend (searched on the policy's trusted PATH only) and whether execute_command may run it, with the rule that decided.",
  inputSchema: {
    command: z.string().min(1).max(4096).describe("A program name (e.g. `git`) or an absolute path."),
  },
  outputSchema: {
    exists: z.boolean(),
    allowed: z.boolean(),
    path: z.string().nullable(),
    rule: z.string(),
    reason: z.string(),
  },
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  async handler(args, ctx) {
    const bridge = commandBridge(ctx.services);
    if (!bridge) return fail("execution.disabled", "command execution is not available on this server");
    const check = await bridge.checkProgram(args.command, { roots: await ctx.roots() });
    const text = `${check.exists ? `found at ${check.path}` : "not found"}; ${check.allowed ? "allowed" : "not allowed"} (rule ${check.rule}: ${check.reason})`;
    return ok(text, { exists: check.exists, allowed: check.allowed, path: check.path, rule: check.rule, reason: check.reason });
  },
});
