import os from "node:os";
import { z } from "zod";
import type { EffectiveRoot } from "../policy/roots.js";
import type { Policy } from "../policy/schema/index.js";
import { defineTool, ok, type ToolServices } from "./tool.js";

/** Facts about the server itself that buildDeps puts in `services.server`. */
export interface ServerFacts {
  version: string;
  startedAt: number;
  policyPath: string;
}

interface Describable {
  describe(): { backend: string; confinement: string; privileged?: boolean; detail?: string };
}

/** The get_system_info result; also served by GET /api/v1/system/info. */
export function collectSystemInfo(roots: EffectiveRoot[], policy: Policy, services: ToolServices) {
  const server = services.server as ServerFacts | undefined;
  const bridge = services.commands as Describable | undefined;
  const exec = bridge?.describe();
  return {
    os: { platform: os.platform(), release: os.release(), type: os.type() },
    arch: os.arch(),
    cpus: os.cpus().length,
    memory: { total_bytes: os.totalmem(), free_bytes: os.freemem() },
    node: process.version,
    version: server?.version ?? "unknown",
    uptime_s: server ? Math.round((Date.now() - server.startedAt) / 1000) : 0,
    backend: exec?.backend ?? "none",
    confinement: exec ? exec.confinement : "commands disabled",
    privileged: exec?.privileged ?? false,
    file_tools: "WASI modules (browser_wasi_shim, host-backed preopens)",
    roots: roots.map((r) => ({ path: r.path, access: r.writable ? "read-write" : "read-only" })),
    policy: {
      file: server?.policyPath ?? "",
      deny_globs: policy.filesystem.deny.length,
      read_only: policy.filesystem.read_only,
      max_read_bytes: policy.filesystem.max_read_bytes,
      allowed_programs: policy.commands.allow.map((r) => r.program),
      network: policy.execution.network,
      timeout_s: policy.execution.timeout_s,
    },
  };
}

/** get_system_info: what this server is, where it may work and how commands are confined. */
export const getSystemInfoTool = defineTool({
  name: "get_system_info",
  title: "System information",
  description:
    "OS, architecture, CPUs, memory, Node.js version, the command backend and its confinement mode, the effective roots and a summary of the policy.",
  inputSchema: {},
  outputSchema: {
    os: z.object({ platform: z.string(), release: z.string(), type: z.string() }),
    arch: z.string(),
    cpus: z.number(),
    memory: z.object({ total_bytes: z.number(), free_bytes: z.number() }),
    node: z.string(),
    version: z.string(),
    uptime_s: z.number(),
    backend: z.string(),
    confinement: z.string(),
    privileged: z.boolean(),
    file_tools: z.string(),
    roots: z.array(z.object({ path: z.string(), access: z.string() })),
    policy: z.record(z.string(), z.unknown()),
  },
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  async handler(_args, ctx) {
    const info = collectSystemInfo(await ctx.roots(), ctx.policy, ctx.services);
    return ok(JSON.stringify(info, null, 2), info);
  },
});
