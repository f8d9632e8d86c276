import { randomUUID } from "node:crypto";
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import type { RequestHandlerExtra } from "@modelcontextprotocol/sdk/shared/protocol.js";
import {
  ListRootsResultSchema,
  RootsListChangedNotificationSchema,
  type ServerNotification,
  type ServerRequest,
} from "@modelcontextprotocol/sdk/types.js";
import { commandBridge, PROCESSES_SERVICE, processRegistry } from "../exec/services.js";
import type { Caller, ToolContext, ToolDefinition, ToolOutcome } from "../tools/tool.js";
import { mcpApprover } from "./approval-hook.js";
import { auditedCall, callFacts } from "./audited-call.js";
import type { WardenDeps } from "./deps.js";
import { RootsManager } from "./roots-manager.js";
import { toCallToolResult } from "./tool-result.js";

/** The session a server serves, as its audit records name it. */
export interface SessionInfo {
  transport: "stdio" | "http";
  /** The session id (over HTTP the Mcp-Session-Id); default: a random one. */
  id?: string;
  /** The peer's address (HTTP). */
  peer?: string;
}

/** An MCP call's caller: always in a session. */
type SessionCaller = Caller & { session: string };

/**
 * One MCP server (one session) over shared dependencies. Every tool is registered from its
 * definition in the same loop; each call gets a fresh context and is audited (intent and outcome
 * when it may change something) by auditedCall; every record names the transport, client and session.
 */
export function createWardenServer(deps: WardenDeps, info: SessionInfo = { transport: "stdio" }): McpServer {
  const server = new McpServer(
    { name: "mcp-warden", title: "mcp-warden", version: deps.version },
    {
      capabilities: { tools: { listChanged: false }, logging: {} },
      instructions:
        "File, search and info tools are confined to the allowed roots (see get_system_info). Paths are absolute or relative to the first root. Denials name the rule that denied them.",
    },
  );
  const roots = new RootsManager({
    configured: deps.configuredRoots,
    fallback: deps.fallbackRoot,
    readOnlyAll: deps.policy.filesystem.read_only,
    clientRoots: deps.clientRoots,
    log: deps.log,
  });
  server.server.oninitialized = () => {
    if (server.server.getClientCapabilities()?.roots) roots.markStale();
  };
  server.server.setNotificationHandler(RootsListChangedNotificationSchema, async () => roots.markStale());

  // Background processes are per session: a session sees and controls only its own, and they end with it.
  const session = info.id ?? randomUUID();
  // The client's name and version are known once it has initialized, so this is read per call.
  const caller = (): SessionCaller => {
    const v = server.server.getClientVersion();
    const client = [info.peer, v ? `${v.name}/${v.version}` : undefined].filter(Boolean).join(" ");
    return { transport: info.transport, client: client || "unknown", session, ...(deps.overlay ? { workspace: deps.overlay.workspace } : {}) };
  };
  const registry = processRegistry(deps.services)?.scoped(session);
  const services = registry ? { ...deps.services, [PROCESSES_SERVICE]: registry } : deps.services;
  deps.ops.metrics.sessionOpened(info.transport);
  let open = true;
  server.server.onclose = () => {
    if (open) deps.ops.metrics.sessionClosed(info.transport);
    open = false;
    void registry?.close();
    // Backends holding something per session (slurm: its allocation) release it with the session.
    void commandBridge(deps.services)?.endSession?.(session);
  };

  for (const tool of deps.tools) register(server, tool, { ...deps, services }, roots, caller);
  return server;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
function register(server: McpServer, tool: ToolDefinition<any>, deps: WardenDeps, roots: RootsManager, caller: () => SessionCaller): void {
  server.registerTool(
    tool.name,
    {
      title: tool.title,
      description: tool.description,
      inputSchema: tool.inputSchema,
      outputSchema: tool.outputSchema,
      annotations: tool.annotations,
    },
    async (args: Record<string, unknown>, extra: RequestHandlerExtra<ServerRequest, ServerNotification>) => {
      const who = { ...caller(), request: String(extra.requestId) };
      const started = Date.now();
      const progressToken = extra._meta?.progressToken;
      const clientRoots = server.server.getClientCapabilities()?.roots
        ? () => extra.sendRequest({ method: "roots/list" }, ListRootsResultSchema)
        : undefined;
      const ctx: ToolContext = {
        roots: () => roots.current(clientRoots),
        rootsState: () => roots.state(clientRoots),
        sandbox: deps.sandbox,
        policy: deps.policy,
        services: deps.services,
        signal: extra.signal,
        session: who.session,
        caller: who,
        progress: async (progress, message, total) => {
          if (progressToken === undefined) return;
          await extra.sendNotification({
            method: "notifications/progress",
            params: { progressToken, progress, ...(total !== undefined ? { total } : {}), ...(message ? { message } : {}) },
          });
        },
      };
      const approve = mcpApprover(deps, server, extra, who, ctx.progress);
      if (approve) ctx.approve = approve;
      // Audit first and last, failing closed (server/audited-call.ts); the handler runs inside.
      let outcome = await auditedCall(tool, args, ctx, deps, who);
      if (!outcome.ok && NO_ROOT_RULES.has(outcome.rule)) outcome = await explainNoRoot(outcome, roots);
      deps.ops.metrics.observeCall({ tool: tool.name, ...callFacts(outcome, started) });
      return toCallToolResult(outcome);
    },
  );
}

/** Rules a tool fails with when the session has no root at all. */
const NO_ROOT_RULES = new Set(["roots.none", "execution.no_root"]);

/** "no roots" alone explains nothing: say which roots did not overlap and how to fix it. */
async function explainNoRoot(outcome: ToolOutcome & { ok: false }, roots: RootsManager): Promise<ToolOutcome> {
  const { problem } = await roots.state();
  return problem ? { ...outcome, message: `${outcome.message}: ${problem}` } : outcome;
}
