import { z } from "zod";
import { processRegistry } from "../exec/services.js";
import { processInfoShape } from "./read-process-output.js";
import { defineTool, fail, ok } from "./tool.js";

/** list_processes: the background processes of this server, running and recently finished. */
export const listProcessesTool = defineTool({
  name: "list_processes",
  title: "List processes",
  description: "List background processes started with execute_command background=true: running ones and recently finished ones.",
  inputSchema: {},
  outputSchema: { processes: z.array(z.object(processInfoShape)) },
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  async handler(_args, ctx) {
    const registry = processRegistry(ctx.services);
    if (!registry) return fail("execution.disabled", "background processes are not available on this server");
    const processes = registry.list();
    const text = processes.length
      ? processes.map((p) => `${p.handle}\t${p.running ? "running" : `exited ${p.exit_code ?? p.signal}`}\t${p.command}`).join("\n")
      : "no background processes";
    return ok(text, { processes });
  },
});
