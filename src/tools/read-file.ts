import { z } from "zod";
import { callModule, splitHeader } from "./fs/module-call.js";
import { decodeText, incompleteUtf8Tail } from "./fs/text.js";
import { defineTool, fail, ok } from "./tool.js";

const count = z.number().int().min(0);

/** read_file: a bounded part of one file, text or base64, with the offset to continue from. */
export const readFileTool = defineTool({
  name: "read_file",
  title: "Read file",
  description:
    "Read a file inside the allowed roots. Large files come in parts: the reply says next_offset; call again with offset=next_offset. " +
    "head/tail return the first/last N lines. Binary files come back base64-encoded.",
  inputSchema: {
    path: z.string().describe("File path, absolute or relative to the first root."),
    offset: count.optional().describe("Byte offset to start at (default 0)."),
    length: z.number().int().min(1).optional().describe("Bytes to read (default and maximum: the policy's max_read_bytes, 1 MiB by default)."),
    head: z.number().int().min(1).optional().describe("Return only the first N lines."),
    tail: z.number().int().min(1).optional().describe("Return only the last N lines."),
  },
  outputSchema: {
    path: z.string(),
    content: z.string(),
    encoding: z.enum(["utf-8", "base64"]),
    size: z.number(),
    offset: z.number(),
    length: z.number(),
    truncated: z.boolean(),
    next_offset: z.number().nullable(),
    note: z.string().optional(),
  },
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  async handler(args, ctx) {
    if (args.head !== undefined && args.tail !== undefined) return fail("input.invalid", "give head or tail, not both");
    if ((args.head !== undefined || args.tail !== undefined) && args.offset !== undefined) {
      return fail("input.invalid", "head/tail count lines from the start/end of the file; they cannot be combined with offset");
    }
    const cap = ctx.policy.filesystem.max_read_bytes;
    const length = Math.min(args.length ?? cap, cap);
    const flags = [`--length=${length}`];
    if (args.offset !== undefined) flags.push(`--offset=${args.offset}`);
    if (args.head !== undefined) flags.push(`--head=${args.head}`);
    if (args.tail !== undefined) flags.push(`--tail=${args.tail}`);
    const call = await callModule(ctx, "read", args.path, flags, { maxStdoutBytes: length + 4096, inline: true });
    if (!call.ok) return call.outcome;
    const { header, body } = splitHeader(call.stdout);
    const size = Number(header.size ?? 0);
    const start = Number(header.offset ?? 0);
    let bytes = body;
    const lineMode = args.head !== undefined || args.tail !== undefined;
    let end = start + bytes.length;
    if (!lineMode && end < size) {
      // Never split a UTF-8 character between two parts.
      const cut = incompleteUtf8Tail(bytes);
      if (cut > 0 && cut < bytes.length) {
        bytes = bytes.subarray(0, bytes.length - cut);
        end -= cut;
      }
    }
    const decoded = decodeText(bytes);
    const text = decoded !== null;
    const content = decoded ?? Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("base64");
    const truncated = lineMode ? bytes.length >= length : end < size;
    const nextOffset = !lineMode && end < size ? end : null;
    const note = truncated
      ? nextOffset !== null
        ? `[truncated: bytes ${start}-${end} of ${size}; call read_file with offset=${nextOffset} for the next part]`
        : `[truncated at ${length} bytes; ask for fewer lines or use offset/length]`
      : !text
        ? `[binary file: ${size} bytes, content base64-encoded]`
        : undefined;
    return ok(
      content,
      {
        path: call.path,
        content,
        encoding: text ? "utf-8" : "base64",
        size,
        offset: start,
        length: bytes.length,
        truncated,
        next_offset: nextOffset,
        ...(note ? { note } : {}),
      },
      { bytes: bytes.length },
    );
  },
});
