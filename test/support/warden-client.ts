import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { ListRootsRequestSchema, type CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { existsSync } from "node:fs";
import { join } from "node:path";

export const REPO = join(import.meta.dirname, "..", "..");
export const CLI = join(REPO, "dist", "cli", "main.js");

export interface WardenClient {
  client: Client;
  call(name: string, args?: Record<string, unknown>): Promise<CallToolResult>;
  /** Text of all content items of a result. */
  text(result: CallToolResult): string;
  setRoots(paths: string[]): Promise<void>;
  stderr(): string;
  /** The server's process id. */
  pid(): number | null;
  close(): Promise<void>;
}

/**
 * Starts the real server (`node dist/cli/main.js serve ARGS`) over stdio and connects the MCP SDK
 * client to it, as a user's MCP client would. `clientRoots` makes the client offer MCP roots.
 */
export async function startWarden(args: string[], opts: { clientRoots?: string[]; env?: Record<string, string>; cwd?: string } = {}): Promise<WardenClient> {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` first (npm test does)`);
  let roots = opts.clientRoots;
  const client = new Client({ name: "warden-test", version: "1.0.0" }, { capabilities: roots ? { roots: { listChanged: true } } : {} });
  if (roots) {
    client.setRequestHandler(ListRootsRequestSchema, async () => ({
      roots: (roots ?? []).map((p) => ({ uri: `file://${p}`, name: p })),
    }));
  }
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [CLI, "serve", ...args],
    env: { ...(process.env as Record<string, string>), ...opts.env },
    stderr: "pipe",
    ...(opts.cwd ? { cwd: opts.cwd } : {}),
  });
  let err = "";
  transport.stderr?.on("data", (d: Buffer) => {
    err += d.toString();
  });
  await client.connect(transport);
  return {
    client,
    call: async (name, callArgs = {}) => (await client.callTool({ name, arguments: callArgs })) as CallToolResult,
    text: (result) => result.content.map((c) => (c.type === "text" ? c.text : "")).join("\n"),
    setRoots: async (paths) => {
      roots = paths;
      await client.sendRootsListChanged();
    },
    stderr: () => err,
    pid: () => transport.pid,
    close: () => client.close(),
  };
}
