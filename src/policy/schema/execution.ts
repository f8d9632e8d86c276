import { z } from "zod";

// Owned by the execution work (issues 3 and 4). Shape of the `execution` section.

export const DEFAULT_ENV_ALLOW = ["LANG", "LC_*", "TERM", "TZ", "COLORTERM", "NO_COLOR", "FORCE_COLOR", "CI"];

export const executionSchema = z
  .object({
    backend: z.enum(["native", "docker", "ssh", "host-agent"]).default("native").describe("Where commands run."),
    confinement: z
      .enum(["bubblewrap", "none"])
      .default("bubblewrap")
      .describe("OS confinement of native commands. `none` must be chosen explicitly; without bubblewrap, commands are refused."),
    timeout_s: z.number().positive().max(86_400).default(60).describe("Default timeout of execute_command, seconds."),
    max_timeout_s: z.number().positive().max(86_400).default(600).describe("Largest timeout a caller may ask for."),
    output_cap_bytes: z
      .number()
      .int()
      .min(1024)
      .max(64 * 1024 * 1024)
      .default(1024 * 1024)
      .describe("stdout and stderr are each capped at this size (head and tail kept)."),
    memory_mb: z.number().int().min(16).default(2048).describe("Memory (address space) limit of a command."),
    processes: z.number().int().min(1).default(256).describe("Process limit of a command."),
    cpu_s: z.number().int().min(1).default(600).describe("CPU time limit of a command, seconds."),
    file_size_mb: z.number().int().min(1).default(1024).describe("Largest file a command may write."),
    network: z.boolean().default(false).describe("Whether commands may use the network."),
    env_allow: z
      .array(z.string())
      .default(DEFAULT_ENV_ALLOW)
      .describe("Server environment variables passed through to commands (globs like LC_*)."),
    env_set: z.record(z.string(), z.string()).default({}).describe("Variables set for every command."),
    caller_env_allow: z
      .array(z.string())
      .default([])
      .describe("Variables the caller may set through execute_command's env beyond the safe default set."),
    background_output_bytes: z
      .number()
      .int()
      .min(1024)
      .default(4 * 1024 * 1024)
      .describe("Retained output per background process; older output is dropped."),
    max_background: z.number().int().min(0).default(16).describe("Background processes alive at once."),
    docker: z
      .object({
        image: z.string().default("warden-sandbox:latest"),
        socket: z.string().optional().describe("Docker socket path; DOCKER_HOST wins when set."),
        user: z.string().default("65534:65534"),
        cpus: z.number().positive().default(1),
        host_binaries: z.boolean().default(false).describe("volume_mount mode: bind the host's /usr, /bin, /lib read-only into the image."),
      })
      .strict()
      .default({ image: "warden-sandbox:latest", user: "65534:65534", cpus: 1, host_binaries: false }),
    ssh: z
      .object({
        host: z.string(),
        port: z.number().int().default(22),
        user: z.string(),
        private_key_path: z.string().optional(),
        agent: z.boolean().default(false),
        known_hosts: z.string().optional(),
        host_key_sha256: z.string().optional(),
        roots: z.array(z.string().startsWith("/")).default([]),
      })
      .strict()
      .optional(),
    host_agent: z
      .object({
        url: z.string().optional().describe("HOST_AGENT_URL wins when set (http://127.0.0.1:8001 or unix:/path)."),
        token_env: z.string().default("HOST_AGENT_TOKEN"),
      })
      .strict()
      .optional(),
  })
  .strict();

export type ExecutionPolicy = z.infer<typeof executionSchema>;
