import { randomUUID } from "node:crypto";
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import type { RequestHandlerExtra } from "@modelcontextprotocol/sdk/shared/protocol.js";
import {
  ListRootsResultSchema,
  RootsListChangedNotificationSchema,
  type ServerNotification,
  type ServerRequest,
} from "@modelcontextprotocol/sdk/types.js";
import { PROCESSES_SERVICE, processRegistry } from "../exec/services.js";
import type { ToolContext, ToolDefinition } from "../tools/tool.js";
import { auditedCall } from "./audited-call.js";
import type { WardenDeps } from "./deps.js";
import { RootsManager } from "./roots-manager.js";
import { toCallToolResult } from "./tool-result.js";

/**
 * One MCP server (one session) over shared dependencies. Every tool is registered from its
 * definition in the same loop; each call gets a fresh context and is audited (intent and outcome
 * when it may change something) by auditedCall.
 */
export function createWardenServer(deps: WardenDeps): McpServer {
  const server = new McpServer(
    { name: "mcp-warden", title: "mcp-warden", version: deps.version },
    {
      capabilities: { tools: { listChanged: false }, logging: {} },
      instructions:
        "File, search and info tools are confined to the allowed roots (see get_system_info). Paths are absolute or relative to the first root. Denials name the rule that denied them.",
    },
  );
  const roots = new RootsManager(deps.configuredRoots, deps.fallbackRoot, deps.policy.filesystem.read_only, deps.log);
  server.server.oninitialized = () => {
    if (server.server.getClientCapabilities()?.roots) roots.markStale();
  };
  server.server.setNotificationHandler(RootsListChangedNotificationSchema, async () => roots.markStale());

  // Background processes are per session: a session sees and controls only its own, and they end with it.
  const session = randomUUID();
  const registry = processRegistry(deps.services)?.scoped(session);
  const services = registry ? { ...deps.services, [PROCESSES_SERVICE]: registry } : deps.services;
  server.server.onclose = () => void registry?.close();

  for (const tool of deps.tools) register(server, tool, { ...deps, services }, roots, session);
  return server;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
function register(server: McpServer, tool: ToolDefinition<any>, deps: WardenDeps, roots: RootsManager, session: string): void {
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
      const progressToken = extra._meta?.progressToken;
      const clientRoots = server.server.getClientCapabilities()?.roots
        ? () => extra.sendRequest({ method: "roots/list" }, ListRootsResultSchema)
        : undefined;
      const ctx: ToolContext = {
        roots: () => roots.current(clientRoots),
        sandbox: deps.sandbox,
        policy: deps.policy,
        services: deps.services,
        signal: extra.signal,
        session,
        progress: async (progress, message, total) => {
          if (progressToken === undefined) return;
          await extra.sendNotification({
            method: "notifications/progress",
            params: { progressToken, progress, ...(total !== undefined ? { total } : {}), ...(message ? { message } : {}) },
          });
        },
      };
      // Audit first and last, failing closed (server/audited-call.ts); the handler runs inside.
      return toCallToolResult(await auditedCall(tool, args, ctx, deps));
    },
  );
}
