import { z } from "zod";

const program = z.string().min(1).regex(/^[^\s]+$/, "a program name or absolute path, no spaces");

/**
 * `execution.slurm`: the slurm backend's allocation, one per MCP session. Every field is optional:
 * without one, the cluster's own default applies (its default partition, DefMemPerCPU, DefaultTime).
 */
export const slurmSchema = z
  .object({
    partition: z.string().min(1).optional().describe("Partition (salloc --partition); default: the cluster's default partition."),
    account: z.string().min(1).optional().describe("Account charged (salloc --account)."),
    constraint: z.string().min(1).optional().describe("Node features required (salloc --constraint)."),
    cpus: z.number().int().min(1).max(1024).optional().describe("CPUs per session (salloc --cpus-per-task)."),
    memory_mb: z.number().int().min(16).max(16 * 1024 * 1024).optional().describe("Memory per session, MB (salloc --mem); every command of the session shares it, and execution.memory_mb still caps each one."),
    time_minutes: z.number().int().min(1).max(525_600).optional().describe("Time limit of a session's allocation, minutes (salloc --time); the next command after it expires gets a new allocation."),
    immediate_s: z.number().int().min(1).max(3600).default(10).describe("How long to wait for a grant before the call fails with a clear error (salloc --immediate)."),
    warm_sessions: z
      .number()
      .int()
      .min(0)
      .max(16)
      .default(0)
      .describe("Allocations kept open and ready for the next sessions (their step started, the node answering), so a new session's first command does not wait for salloc and the node's start; each holds its resources while it waits."),
    job_name: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/).default("mcp-warden").describe("Job name of the allocations; with the owner tag in the job comment, how allocations an earlier run left behind are found and cancelled."),
    salloc: program.default("salloc").describe("salloc to run (a name on PATH or an absolute path)."),
    srun: program.default("srun").describe("srun to run."),
    scancel: program.default("scancel").describe("scancel to run."),
    squeue: program.default("squeue").describe("squeue to run (finds stale allocations)."),
    node_binary: z.string().startsWith("/").optional().describe("Node.js on the compute nodes (default: the server's own, which must exist at the same path there)."),
  })
  .strict();

export type SlurmPolicy = z.infer<typeof slurmSchema>;
