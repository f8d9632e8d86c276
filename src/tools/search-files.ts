import { z } from "zod";
import { callModule, keyValues, nulFields } from "./fs/module-call.js";
import { toPosixEre } from "./fs/posix-regex.js";
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
    const call = await callModule(ctx, "search", args.path, flags);
    if (!call.ok) return call.outcome;
    const stats = keyValues(call.stderr);
    const truncated = stats.truncated === "1";
    const fields = nulFields(call.stdout);
    const more = truncated ? `\n[stopped at ${max} results; narrow the search or raise max_results]` : "";
    if (args.content === undefined) {
      const files = fields;
      const text = files.length ? files.join("\n") : "No files found.";
      return ok(text + more, { path: call.path, files, truncated }, { bytes: files.length });
    }
    const matches: { path: string; line: number; text: string }[] = [];
    for (let i = 0; i + 2 < fields.length; i += 3) matches.push({ path: fields[i]!, line: Number(fields[i + 1]), text: fields[i + 2]! });
    const text = matches.length ? matches.map((m) => `${m.path}:${m.line}:${m.text}`).join("\n") : "No matches found.";
    return ok(text + more, { path: call.path, matches, truncated }, { bytes: matches.length });
  },
});
