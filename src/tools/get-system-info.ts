import os from "node:os";
import { z } from "zod";
import type { RootsState } from "../policy/roots.js";
import type { Policy } from "../policy/schema/index.js";
import { defineTool, ok, type ToolServices } from "./tool.js";

/** Facts about the server itself that buildDeps puts in `services.server`. */
export interface ServerFacts {
  version: string;
  startedAt: number;
  policyPath: string;
  /** serve --overlay: the copy-on-write workspace every writable root is a view of. */
  workspace?: { workspace: string; driver: string; fallback_from?: { driver: string; reason: string }[]; driver_loses?: string; state_dir: string; holder_pid: number; roots: { path: string; upper: string }[] };
}

interface Describable {
  describe(): { backend: string; confinement: string; privileged?: boolean; detail?: string };
  placement?(session: string): { cluster: string; job: string; step: string; node: string } | undefined;
}

/** The get_system_info result; also served by GET /api/v1/system/info. */
export function collectSystemInfo(state: RootsState, policy: Policy, services: ToolServices, session?: string) {
  const server = services.server as ServerFacts | undefined;
  const bridge = services.commands as Describable | undefined;
  const exec = bridge?.describe();
  const placement = session !== undefined ? bridge?.placement?.(session) : undefined;
  return {
    os: { platform: os.platform(), release: os.release(), type: os.type() },
    arch: os.arch(),
    // availableParallelism: the CPUs this process may run on, without parsing /proc/cpuinfo on every call.
    cpus: os.availableParallelism(),
    memory: { total_bytes: os.totalmem(), free_bytes: os.freemem() },
    node: process.version,
    version: server?.version ?? "unknown",
    uptime_s: server ? Math.round((Date.now() - server.startedAt) / 1000) : 0,
    backend: exec?.backend ?? "none",
    confinement: exec ? exec.confinement : "commands disabled",
    privileged: exec?.privileged ?? false,
    // slurm: where this session's commands run now (absent until its first command).
    ...(placement ? { placement } : {}),
    file_tools: "WASI modules (browser_wasi_shim, host-backed preopens)",
    workspace: server?.workspace ? { mode: "overlay", name: server.workspace.workspace, driver: server.workspace.driver, ...(server.workspace.fallback_from ? { driver_fallback_from: server.workspace.fallback_from } : {}), ...(server.workspace.driver_loses ? { driver_loses: server.workspace.driver_loses } : {}), state_dir: server.workspace.state_dir, roots: server.workspace.roots.map((r) => r.path) } : { mode: "normal" },
    roots: state.roots.map((r) => ({
      path: r.path,
      access: r.writable ? "read-write" : "read-only",
      source: r.source ?? "unknown",
      ...(r.within ? { within: r.within } : {}),
    })),
    client_roots: {
      mode: state.clientRoots,
      offered: state.client,
      ...(state.problem ? { problem: state.problem } : {}),
    },
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
    "OS, architecture, CPUs, memory, Node.js version, the command backend and its confinement mode, the effective roots (with where each came from and its access), how the client's roots are used, and a summary of the policy.",
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
    placement: z.object({ cluster: z.string(), job: z.string(), step: z.string(), node: z.string() }).optional(),
    file_tools: z.string(),
    workspace: z
      .object({
        mode: z.string().describe("normal: the real roots; overlay: every writable root is a copy-on-write view (serve --overlay)."),
        name: z.string().optional(),
        driver: z.string().optional().describe("kernel: overlayfs in a private namespace; fuse: fuse-overlayfs there (slower, a FUSE daemon per root); copy: a full copy of each root bound over its path (no overlay could be mounted)."),
        driver_fallback_from: z
          .array(z.object({ driver: z.string(), reason: z.string() }))
          .optional()
          .describe("The drivers auto tried first and why each was not usable."),
        driver_loses: z.string().optional().describe("What the driver in use loses against an overlay (the copy driver says)."),
        state_dir: z.string().optional(),
        roots: z.array(z.string()).optional().describe("The roots that are copy-on-write views."),
      })
      .describe("Whether writes reach the real tree (normal) or a copy-on-write workspace (overlay)."),
    roots: z.array(
      z.object({
        path: z.string(),
        access: z.string(),
        source: z.string().describe("--root, --read-only, policy, client, or cwd (the working directory: nothing configured or offered)"),
        within: z.string().optional().describe("For a client root inside a configured root: that configured root."),
      }),
    ),
    client_roots: z.object({
      mode: z.string().describe("intersect: the client's MCP roots narrow the configured roots; ignore: they are not asked for."),
      offered: z.array(z.string()).nullable().describe("The client's roots that exist here; null when it offered none or they are ignored."),
      problem: z.string().optional().describe("Why there is no root, when the client's and the configured roots do not overlap."),
    }),
    policy: z.record(z.string(), z.unknown()),
  },
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  async handler(_args, ctx) {
    const state = ctx.rootsState ? await ctx.rootsState() : { roots: await ctx.roots(), configured: [], client: null, clientRoots: "intersect" as const };
    const info = collectSystemInfo(state, ctx.policy, ctx.services, ctx.session);
    return ok(JSON.stringify(info, null, 2), info);
  },
});
