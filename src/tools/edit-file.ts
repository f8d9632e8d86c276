import { createTwoFilesPatch } from "diff";
import { z } from "zod";
import { callModule, callReplacing, splitHeader } from "./fs/module-call.js";
import { explainAskRefusal, gateWrite } from "./fs/write-gate.js";
import { isText } from "./fs/text.js";
import { defineTool, fail, ok } from "./tool.js";

const editSchema = z
  .object({
    old_text: z.string().min(1).describe("Exact text to find (whitespace and newlines included)."),
    new_text: z.string().describe("Replacement text."),
    replace_all: z.boolean().optional().describe("Replace every occurrence; by default old_text must occur exactly once."),
  })
  .strict();

/** edit_file: exact replacements applied atomically, with a unified diff (or only the diff on dry_run). */
export const editFileTool = defineTool({
  name: "edit_file",
  title: "Edit file",
  description:
    "Apply exact text replacements to a file inside a read-write root. Each old_text must match exactly once (unless replace_all), " +
    "edits apply in order, and nothing is written if any edit fails. Returns a unified diff; dry_run returns the diff without writing.",
  inputSchema: {
    path: z.string().describe("File path, absolute or relative to the first root."),
    edits: z.array(editSchema).min(1).max(100).describe("Replacements, applied in order."),
    dry_run: z.boolean().optional().describe("Only show the diff; do not write."),
  },
  outputSchema: { path: z.string(), diff: z.string(), replacements: z.number(), dry_run: z.boolean() },
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: false },
  changes: (args) => args.dry_run !== true,
  async handler(args, ctx) {
    const frames: Buffer[] = [];
    for (const e of args.edits) {
      const oldB = Buffer.from(e.old_text, "utf8");
      const newB = Buffer.from(e.new_text, "utf8");
      frames.push(Buffer.from(`${e.replace_all ? 1 : 0} ${oldB.length} ${newB.length}\n`), oldB, newB);
    }
    const stdin = Buffer.concat(frames);
    if (stdin.length > ctx.policy.filesystem.max_write_bytes) return fail("filesystem.max_write_bytes", "edits are larger than this policy accepts");
    const max = ctx.policy.filesystem.max_write_bytes;
    // A dry run writes nothing, so it asks nobody.
    const gate = args.dry_run ? { ok: true as const, denyGlobs: ctx.policy.filesystem.deny } : await gateWrite(ctx, "edit_file", args, args.path);
    if (!gate.ok) return gate.outcome;
    const opts = { stdin, maxStdoutBytes: 2 * max + 4096, denyGlobs: gate.denyGlobs };
    const call = args.dry_run ? await callModule(ctx, "edit", args.path, ["--dry-run"], opts) : await callReplacing(ctx, "edit", args.path, [], opts);
    if (!call.ok) return explainAskRefusal(call.outcome, ctx);
    const { header, body } = splitHeader(call.stdout);
    const oldSize = Number(header.old_size ?? 0);
    const before = body.subarray(0, oldSize);
    const after = body.subarray(oldSize);
    const replacements = Number(header.replacements ?? args.edits.length);
    const dryRun = args.dry_run === true;
    const diff =
      isText(before) && isText(after)
        ? createTwoFilesPatch(call.path, call.path, Buffer.from(before).toString("utf8"), Buffer.from(after).toString("utf8"), "", "", { context: 3 })
        : `Binary file ${call.path} changed (${before.length} -> ${after.length} bytes)\n`;
    return ok(
      (dryRun ? "Dry run, nothing written:\n" : "") + diff,
      { path: call.path, diff, replacements, dry_run: dryRun },
      { bytes: after.length },
    );
  },
});
