import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { expect } from "vitest";
import { startWarden, type WardenClient } from "../warden-client.js";

/**
 * `warden serve` (the real CLI over stdio, as an MCP client sees it) with a policy file written to
 * `dir` and `--backend NAME`. Fails with a clear reason when the server does not offer
 * execute_command (the backend is then not wired into serve).
 */
export async function serveWithBackend(dir: string, backend: string, policy: unknown, root: string, env: Record<string, string> = {}): Promise<WardenClient> {
  const file = join(dir, `policy-${backend}.json`);
  writeFileSync(file, JSON.stringify(policy));
  const w = await startWarden(["--backend", backend, "--policy", file, "--root", root], { env, cwd: root });
  const tools = await w.client.listTools();
  if (!tools.tools.some((t) => t.name === "execute_command")) {
    await w.close();
    throw new Error(`warden serve --backend ${backend} offers no execute_command tool (the exec services are not wired into serve): ${w.stderr()}`);
  }
  const info = await w.call("get_system_info", {});
  const reported = String((info.structuredContent as { backend?: unknown } | undefined)?.backend);
  if (reported !== backend) {
    await w.close();
    throw new Error(`warden serve --backend ${backend} does not report that backend in get_system_info (it reports ${reported}): backend selection is not wired into serve (selectBackend/createBackend from src/exec/select-backend.ts)`);
  }
  return w;
}

/** The structured execute_command result, or the text of a denial. */
export function execResult(w: WardenClient, r: CallToolResult): { exit_code?: number | null; stdout?: string; stderr?: string; isError: boolean; text: string } {
  const structured = (r.structuredContent ?? {}) as Record<string, unknown>;
  return { ...structured, isError: r.isError === true, text: w.text(r) };
}

/** get_system_info must name the backend. */
export async function expectBackendReported(w: WardenClient, backend: string): Promise<void> {
  const info = await w.call("get_system_info", {});
  expect((info.structuredContent as { backend?: unknown } | undefined)?.backend).toBe(backend);
}
