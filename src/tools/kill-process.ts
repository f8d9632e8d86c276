import { z } from "zod";
import { processRegistry } from "../exec/services.js";
import { processInfoShape } from "./read-process-output.js";
import { defineTool, fail, ok } from "./tool.js";

/** kill_process: stops a background process and everything it started. */
export const killProcessTool = defineTool({
  name: "kill_process",
  title: "Kill process",
  description: "Stop a background process and its whole process group (TERM, then KILL after a grace period; or KILL at once).",
  inputSchema: {
    handle: z.string().min(1).describe("Handle returned by execute_command with background=true."),
    signal: z.enum(["SIGTERM", "SIGKILL", "SIGINT", "SIGHUP"]).optional().describe("Signal to send first (default SIGTERM)."),
  },
  outputSchema: processInfoShape,
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: false },
  async handler(args, ctx) {
    const registry = processRegistry(ctx.services);
    if (!registry) return fail("execution.disabled", "background processes are not available on this server");
    const info = await registry.kill(args.handle, args.signal);
    if (!info) return fail("process.unknown", "no such process handle");
    return ok(`${info.handle} ${info.running ? "is still stopping" : "stopped"}`, { ...info });
  },
});
