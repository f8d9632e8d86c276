import { z } from "zod";
import { processRegistry } from "../exec/services.js";
import { defineTool, fail, ok } from "./tool.js";

export const processInfoShape = {
  handle: z.string(),
  command: z.string(),
  pid: z.number().nullable(),
  running: z.boolean(),
  exit_code: z.number().nullable(),
  signal: z.string().nullable(),
  timed_out: z.boolean(),
  started_at: z.string(),
  duration_ms: z.number(),
  output_bytes: z.number().describe("Bytes of output produced so far."),
  dropped_bytes: z.number().describe("Output before this offset was dropped (retention limit)."),
};

/** read_process_output: the next part of a background process's output, by byte offset. */
export const readProcessOutputTool = defineTool({
  name: "read_process_output",
  title: "Read process output",
  description:
    "Read the output (stdout and stderr interleaved) of a background process from a byte offset. Pass the returned next_offset " +
    "to continue. Retention is bounded: if older output was dropped, the reply starts at dropped_bytes.",
  inputSchema: {
    handle: z.string().min(1).describe("Handle returned by execute_command with background=true."),
    offset: z.number().int().min(0).optional().describe("Byte offset to read from (default 0: everything still retained)."),
    max_bytes: z.number().int().min(1).optional().describe("Largest slice to return (bounded by the policy's output cap)."),
  },
  outputSchema: { ...processInfoShape, output: z.string(), offset: z.number(), next_offset: z.number() },
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: false, openWorldHint: false },
  async handler(args, ctx) {
    const registry = processRegistry(ctx.services);
    if (!registry) return fail("execution.disabled", "background processes are not available on this server");
    const read = registry.read(args.handle, args.offset, args.max_bytes);
    if (!read) return fail("process.unknown", "no such process handle");
    const status = read.running ? "running" : `exited (${read.timed_out ? "timed out" : `exit_code ${read.exit_code ?? `signal ${read.signal}`}`})`;
    const skipped = args.offset !== undefined && read.offset > args.offset ? `; ${read.offset - args.offset} bytes were dropped before offset ${read.offset}` : "";
    return ok(`${read.handle} ${status}; bytes ${read.offset}-${read.next_offset} of ${read.output_bytes}${skipped}\n${read.output}`, { ...read });
  },
});
