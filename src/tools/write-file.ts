import { z } from "zod";
import { callModule, callReplacing, keyValues } from "./fs/module-call.js";
import { defineTool, fail, ok } from "./tool.js";
import { explainAskRefusal, gateWrite } from "./fs/write-gate.js";

/** write_file: atomic replace (or append) of one file inside a read-write root. */
export const writeFileTool = defineTool({
  name: "write_file",
  title: "Write file",
  description:
    "Create or replace a file inside a read-write root. Replacement is atomic: readers see the old or the new content, never a mix, and a failure leaves the old file untouched. " +
    "append adds to the end instead; create_dirs creates missing parent directories.",
  inputSchema: {
    path: z.string().describe("File path, absolute or relative to the first root."),
    content: z.string().describe("The full new content (UTF-8)."),
    append: z.boolean().optional().describe("Append to the file instead of replacing it (creates it if missing)."),
    create_dirs: z.boolean().optional().describe("Create missing parent directories."),
  },
  outputSchema: { path: z.string(), bytes_written: z.number(), created: z.boolean() },
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: false },
  async handler(args, ctx) {
    const data = Buffer.from(args.content, "utf8");
    const max = ctx.policy.filesystem.max_write_bytes;
    if (data.length > max) return fail("filesystem.max_write_bytes", `content is ${data.length} bytes; this policy accepts at most ${max}`);
    const flags = [...(args.append ? ["--append"] : []), ...(args.create_dirs ? ["--create-dirs"] : [])];
    const gate = await gateWrite(ctx, "write_file", args, args.path);
    if (!gate.ok) return gate.outcome;
    const opts = { stdin: data, maxStdoutBytes: 4096, denyGlobs: gate.denyGlobs };
    // Appends write in place; replacements go through a temporary file (removed if the run is stopped).
    const call = args.append ? await callModule(ctx, "write", args.path, flags, opts) : await callReplacing(ctx, "write", args.path, flags, opts);
    if (!call.ok) return explainAskRefusal(call.outcome, ctx);
    const info = keyValues(Buffer.from(call.stdout).toString("utf8"));
    const bytes = Number(info.bytes ?? data.length);
    const created = info.created === "1";
    return ok(
      `${args.append ? "Appended" : "Wrote"} ${bytes} bytes to ${call.path}${created ? " (new file)" : ""}`,
      { path: call.path, bytes_written: bytes, created },
      { bytes },
    );
  },
});
