import { z } from "zod";
import { slurmSchema } from "./slurm.js";

// Owned by the execution work (issues 3 and 4). Shape of the `execution` section.

export const DEFAULT_ENV_ALLOW = ["LANG", "LC_*", "TERM", "TZ", "COLORTERM", "NO_COLOR", "FORCE_COLOR", "CI"];

export const executionSchema = z
  .object({
    backend: z.enum(["native", "docker", "ssh", "host-agent", "slurm"]).default("native").describe("Where commands run."),
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
    max_concurrent_commands: z
      .number()
      .int()
      .min(1)
      .max(1024)
      .default(4)
      .describe(
        "Commands running at once across every session of this server: foreground calls, REST and host-agent calls, and background processes until they end. " +
          "Each may use up to memory_mb, so this bounds the total. One more is refused at once with rule execution.busy (nothing started, the refusal audited).",
      ),
    deny_scan_limit: z
      .number()
      .int()
      .min(1000)
      .max(10_000_000)
      .default(200_000)
      .describe(
        "Directories per root the native and docker backends keep in their index of filesystem.deny matches (memory: ~200 bytes each). Directories beyond it are hidden from commands (an empty read-only directory), never refused.",
      ),
    deny_scan_budget_ms: z
      .number()
      .int()
      .min(0)
      .max(60_000)
      .default(500)
      .describe(
        "How long a native or docker command waits for the filesystem.deny check of its roots. What is not checked by then (and not checked in the last 10 s) is hidden for that command; the check finishes in the background for the next one.",
      ),
    docker: z
      .object({
        image: z.string().min(1).default("warden-sandbox:latest").describe("Image of the session container (docker_socket); a minimal one (busybox) for volume_mount."),
        socket: z.string().optional().describe("Docker socket path; DOCKER_HOST wins when set."),
        user: z
          .string()
          .regex(/^\d+(:\d+)?$/, "a numeric uid or uid:gid")
          .refine((u) => !/^0(:|$)/.test(u), { message: "commands must not run as root (uid 0) in the container" })
          .default("65534:65534")
          .describe("Numeric uid:gid commands run as inside the container (never root)."),
        cpus: z.number().positive().max(256).default(1).describe("CPUs the session container may use."),
        host_binaries: z.boolean().default(false).describe("volume_mount mode: bind the host's /usr, /bin, /lib, /lib64, /etc/alternatives read-only into the image."),
      })
      .strict()
      .default({ image: "warden-sandbox:latest", user: "65534:65534", cpus: 1, host_binaries: false })
      .describe("The docker backend: one container per server session, through the Docker Engine API."),
    ssh: z
      .object({
        host: z.string().min(1).describe("Remote host name or address."),
        port: z.number().int().min(1).max(65535).default(22),
        user: z.string().min(1).describe("Remote login; use a non-root user (signals to remote commands need it)."),
        private_key_path: z.string().optional().describe("Private key file for authentication."),
        agent: z.boolean().default(false).describe("Authenticate with the ssh-agent at SSH_AUTH_SOCK."),
        known_hosts: z.string().optional().describe("known_hosts file pinning the host key (plain or hashed entries)."),
        host_key_sha256: z.string().regex(/^(SHA256:)?[A-Za-z0-9+/]{43}=?$/, "an OpenSSH SHA256 fingerprint (SHA256:...)").optional().describe("Pinned host key fingerprint, as `ssh-keygen -lf` prints it."),
        roots: z.array(z.string().startsWith("/")).default([]).describe("Remote roots confining working_directory (default: the local roots' paths)."),
        read_only_roots: z
          .array(z.string().startsWith("/"))
          .default([])
          .describe("Read-only remote roots: a working_directory may lie in them, but the policy lets no redirection write into them."),
      })
      .strict()
      .refine((s) => s.known_hosts !== undefined || s.host_key_sha256 !== undefined, { message: "pin the host key: set known_hosts or host_key_sha256" })
      .refine((s) => s.private_key_path !== undefined || s.agent, { message: "choose an authentication: private_key_path or agent: true" })
      .optional()
      .describe("The ssh backend: commands run on another host over one pinned, reused connection."),
    host_agent: z
      .object({
        url: z.string().optional().describe("HOST_AGENT_URL wins when set (http://127.0.0.1:8001 or unix:/path)."),
        token_env: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/).default("HOST_AGENT_TOKEN").describe("Environment variable holding the agent's bearer token."),
      })
      .strict()
      .optional()
      .describe("The host-agent backend: forwards commands to `warden agent` on the host."),
    slurm: slurmSchema.optional().describe("The slurm backend: one allocation per MCP session, commands under bubblewrap on the allocated node (docs/SCALING.md)."),
  })
  .strict();

export type ExecutionPolicy = z.infer<typeof executionSchema>;
