import { z } from "zod";
import { callModule, keyValues, nulFields } from "./fs/module-call.js";
import { defineTool, ok } from "./tool.js";

const ENTRY_TYPES = ["file", "directory", "symlink", "socket", "fifo", "char_device", "block_device", "other"] as const;
type EntryType = (typeof ENTRY_TYPES)[number];

/** The list module's type letters (wasm-tools/PROTOCOL.md, list). */
const TYPES: Record<string, EntryType> = { f: "file", d: "directory", l: "symlink", s: "socket", p: "fifo", c: "char_device", b: "block_device", o: "other" };

/** How a special file shows in the text listing: its type, never `[FILE] ... 0 bytes`. */
const SPECIAL_TAGS: Partial<Record<EntryType, string>> = { socket: "[SOCKET]", fifo: "[FIFO]", char_device: "[CHARDEV]", block_device: "[BLOCKDEV]", other: "[OTHER]" };
const MAX_ENTRIES = 10_000;

/** list_directory: entries of a directory, optionally recursive; symlinks are shown, not followed. */
export const listDirectoryTool = defineTool({
  name: "list_directory",
  title: "List directory",
  description:
    "List a directory inside the allowed roots: name (relative path when depth > 1), type (file, directory, symlink, socket, fifo, char_device, block_device, other) and size. " +
    "Symbolic links are listed, not followed. Hidden (dot) entries only with include_hidden. Files hidden by policy never appear.",
  inputSchema: {
    path: z.string().describe("Directory path, absolute or relative to the first root."),
    depth: z.number().int().min(1).max(20).optional().describe("How deep to recurse (1 = direct children, the default)."),
    include_hidden: z.boolean().optional().describe("Include entries whose name starts with a dot."),
  },
  outputSchema: {
    path: z.string(),
    entries: z.array(z.object({ name: z.string(), type: z.enum(ENTRY_TYPES), size: z.number() })),
    truncated: z.boolean(),
  },
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  async handler(args, ctx) {
    const flags = [`--depth=${args.depth ?? 1}`, `--max=${MAX_ENTRIES}`, ...(args.include_hidden ? ["--hidden"] : [])];
    // A one-level listing is read-only and small: it may run on the main thread (sandbox `inline`).
    const call = await callModule(ctx, "list", args.path, flags, { inline: (args.depth ?? 1) === 1 });
    if (!call.ok) return call.outcome;
    const fields = nulFields(call.stdout);
    const entries: { name: string; type: EntryType; size: number }[] = [];
    for (let i = 0; i + 2 < fields.length; i += 3) {
      entries.push({ name: fields[i + 2]!, type: TYPES[fields[i]!] ?? "other", size: Number(fields[i + 1]) });
    }
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    const truncated = keyValues(call.stderr).truncated === "1";
    const lines = entries.map((e) =>
      e.type === "directory"
        ? `[DIR]  ${e.name}/`
        : e.type === "symlink"
          ? `[LINK] ${e.name}`
          : e.type === "file"
            ? `[FILE] ${e.name} (${e.size} bytes)`
            : `${SPECIAL_TAGS[e.type]} ${e.name}`,
    );
    if (lines.length === 0) lines.push("(empty)");
    if (truncated) lines.push(`[truncated at ${MAX_ENTRIES} entries; list a subdirectory or lower depth]`);
    return ok(lines.join("\n"), { path: call.path, entries, truncated }, { bytes: entries.length });
  },
});
