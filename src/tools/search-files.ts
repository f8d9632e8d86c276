import { z } from "zod";
import { newClaimTable } from "../sandbox/index.js";
import { callModule, keyValues, nulFields } from "./fs/module-call.js";
import { toPosixEre } from "./fs/posix-regex.js";
import { mergeWalkOrder } from "./fs/walk-order.js";
import { defineTool, fail, ok } from "./tool.js";

/** search_files: find files by glob, or lines by regex, under a directory. */
export const searchFilesTool = defineTool({
  name: "search_files",
  title: "Search files",
  description:
    "Search under a directory inside the allowed roots. Without content: paths whose relative path matches the glob pattern " +
    "(`*`, `**`, `?`, `[...]`, `{a,b}`; default `**/*`). With content: lines matching a regular expression (POSIX extended; \\d \\w \\s \\b work) " +
    "as {path, line, text}. .gitignore files are honoured and .git skipped unless gitignore=false; binary files are skipped.",
  inputSchema: {
    path: z.string().describe("Directory to search, absolute or relative to the first root."),
    pattern: z.string().optional().describe("Glob on paths relative to `path` (default `**/*`), e.g. `**/*.ts` or `src/**/{a,b}.js`."),
    content: z.string().optional().describe("Regular expression to find inside files."),
    case_sensitive: z.boolean().optional().describe("Case-sensitive matching (default true)."),
    max_results: z.number().int().min(1).max(10_000).optional().describe("Stop after this many results (default 200)."),
    exclude: z.union([z.string(), z.array(z.string())]).optional().describe("Glob(s) of relative paths to leave out, e.g. `node_modules/**`."),
    gitignore: z.boolean().optional().describe("Honour .gitignore files (default true)."),
  },
  outputSchema: {
    path: z.string(),
    files: z.array(z.string()).optional(),
    matches: z.array(z.object({ path: z.string(), line: z.number(), text: z.string() })).optional(),
    truncated: z.boolean(),
  },
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  async handler(args, ctx) {
    const max = args.max_results ?? 200;
    const flags = [`--max=${max}`];
    let icase = args.case_sensitive === false;
    if (args.content !== undefined) {
      const re = toPosixEre(args.content);
      if (!re.ok) return fail("input.bad_regex", re.message);
      icase ||= re.icase;
      flags.push(`--content=${re.pattern}`);
    }
    if (args.pattern) flags.push(`--glob=${args.pattern}`);
    for (const ex of typeof args.exclude === "string" ? [args.exclude] : (args.exclude ?? [])) flags.push(`--exclude=${ex}`);
    if (icase) flags.push("--icase");
    if (args.gitignore === false) flags.push("--no-gitignore");
    if (args.content === undefined) {
      const call = await callModule(ctx, "search", args.path, flags);
      if (!call.ok) return call.outcome;
      const truncated = keyValues(call.stderr).truncated === "1";
      const files = nulFields(call.stdout);
      const text = files.length ? files.join("\n") : "No files found.";
      return ok(text + moreNote(truncated, max), { path: call.path, files, truncated }, { bytes: files.length });
    }
    // Content search reads every file: one run per worker, sharing the tree's units through one
    // claim table (a shard that finishes early takes more), merged back into the order (and the
    // first max_results) one run would give. Its runs are read-only: in a copy-on-write workspace
    // they read the files no layer holds from the lower layer (sandbox/host/lower-twin.ts).
    const shards = Math.max(1, Math.min(ctx.sandbox.workers ?? 1, 4));
    const claims = shards > 1 ? newClaimTable() : undefined;
    const calls = await Promise.all(
      Array.from({ length: shards }, (_, i) =>
        callModule(ctx, "search", args.path, shards > 1 ? [...flags, `--shard=${i}/${shards}`] : flags, { readOnly: true, ...(claims ? { claims } : {}) }),
      ),
    );
    const parts: Match[][] = [];
    let truncated = false;
    let path = args.path;
    for (const call of calls) {
      if (!call.ok) return call.outcome;
      path = call.path;
      truncated ||= keyValues(call.stderr).truncated === "1";
      const fields = nulFields(call.stdout);
      const part: Match[] = [];
      for (let i = 0; i + 2 < fields.length; i += 3) part.push({ path: fields[i]!, line: Number(fields[i + 1]), text: fields[i + 2]! });
      parts.push(part);
    }
    let matches = mergeWalkOrder(parts, (m) => m.path);
    if (matches.length > max) {
      matches = matches.slice(0, max);
      truncated = true;
    }
    const text = matches.length ? matches.map((m) => `${m.path}:${m.line}:${m.text}`).join("\n") : "No matches found.";
    return ok(text + moreNote(truncated, max), { path, matches, truncated }, { bytes: matches.length });
  },
});

interface Match {
  path: string;
  line: number;
  text: string;
}

function moreNote(truncated: boolean, max: number): string {
  return truncated ? `\n[stopped at ${max} results; narrow the search or raise max_results]` : "";
}
