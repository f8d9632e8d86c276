import { z } from "zod";
import { processRegistry } from "../exec/services.js";
import { defineTool, fail, ok } from "./tool.js";

/** write_process_input: text to a background process's stdin; checked like a command when the process is a shell. */
export const writeProcessInputTool = defineTool({
  name: "write_process_input",
  title: "Write process input",
  description:
    "Write text to the standard input of a background process (add a trailing newline yourself). When the process is a shell, " +
    "the input is checked by the command policy like an execute_command line. eof=true closes stdin after writing.",
  inputSchema: {
    handle: z.string().min(1).describe("Handle returned by execute_command with background=true."),
    input: z.string().max(1024 * 1024).describe("Text to write."),
    eof: z.boolean().optional().describe("Close standard input after writing."),
  },
  outputSchema: { handle: z.string(), bytes_written: z.number(), stdin_closed: z.boolean() },
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: false },
  async handler(args, ctx) {
    const registry = processRegistry(ctx.services);
    if (!registry) return fail("execution.disabled", "background processes are not available on this server");
    const written = await registry.write(args.handle, args.input, { eof: args.eof });
    if (!written.ok) return fail(written.rule, `refused by ${written.rule}: ${written.reason}`);
    const bytes = Buffer.byteLength(args.input);
    return ok(`wrote ${bytes} bytes to ${args.handle}${args.eof ? " and closed its stdin" : ""}`, {
      handle: args.handle,
      bytes_written: bytes,
      stdin_closed: args.eof ?? false,
    });
  },
});
