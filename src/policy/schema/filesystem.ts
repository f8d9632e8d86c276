import { z } from "zod";

/** Secrets that stay hidden even inside a root unless a policy says otherwise. */
export const DEFAULT_DENY_GLOBS = [
  "**/.env",
  "**/.env.*",
  "**/*.pem",
  "**/*.key",
  "**/id_rsa",
  "**/id_rsa.*",
  "**/id_ecdsa",
  "**/id_ed25519",
  "**/id_ed25519.*",
  "**/.ssh/**",
  "**/.aws/credentials",
  "**/.netrc",
  "**/.git-credentials",
  "**/.npmrc",
  "**/.pypirc",
];

export const rootSchema = z
  .object({
    path: z.string().min(1).describe("Absolute host directory (or relative to the working directory). `${VAR}` expands."),
    access: z.enum(["read-write", "read-only"]).default("read-write").describe("What the tools may do inside this root."),
  })
  .strict();

export const filesystemSchema = z
  .object({
    roots: z.array(rootSchema).default([]).describe("Configured roots. MCP client roots can only narrow these."),
    deny: z
      .array(z.string().min(1))
      .default(DEFAULT_DENY_GLOBS)
      .describe("Globs (matched against the path relative to its root) that hide files and directories even inside roots. Deny beats allow."),
    ask: z
      .array(z.string().min(1))
      .default([])
      .describe(
        "Globs (relative to the root, like deny) whose writes (write_file, edit_file) wait for a human approval. Deny beats ask beats allow. Matched on the path as written: a write that reaches such a file under another name through a symlink is refused, see docs/POLICY.md.",
      ),
    client_roots: z
      .enum(["intersect", "ignore"])
      .default("intersect")
      .describe(
        "intersect: the MCP client's roots narrow the configured roots (an empty intersection leaves no root). ignore: the configured roots apply whatever the client offers. The --client-roots flag wins.",
      ),
    read_only: z
      .boolean()
      .default(false)
      .describe("When true every root is read-only, whatever its own access or the --root flag says."),
    max_read_bytes: z
      .number()
      .int()
      .min(1024)
      .max(3 * 1024 * 1024)
      .default(1024 * 1024)
      .describe("Largest reply of read_file (at most 3 MiB, so a reply stays well under the 10 MiB an MCP stdio client accepts); larger files are read in parts (next_offset)."),
    max_write_bytes: z
      .number()
      .int()
      .min(1)
      .max(256 * 1024 * 1024)
      .default(16 * 1024 * 1024)
      .describe("Largest content write_file and edit_file accept."),
    tool_timeout_ms: z
      .number()
      .int()
      .min(100)
      .max(600_000)
      .default(30_000)
      .describe("Deadline of one WASI tool call; a module still running then is stopped."),
  })
  .strict();

export type FilesystemPolicy = z.infer<typeof filesystemSchema>;
export type RootConfig = z.infer<typeof rootSchema>;
