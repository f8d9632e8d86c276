import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startAgentEngine, type AgentEngine } from "../../support/engines/agent-engine.js";
import { execResult, expectBackendReported, serveWithBackend } from "../../support/engines/mcp-exec.js";
import type { WardenClient } from "../../support/warden-client.js";

describe.skipIf(process.platform !== "linux")(`MCP client -> warden serve --backend host-agent -> warden agent${process.platform !== "linux" ? " (skipped: needs Linux)" : ""}`, () => {
  let agent: AgentEngine;
  let w: WardenClient;
  beforeAll(async () => {
    agent = await startAgentEngine({ commands: { allow: [{ program: "echo" }, { program: "cat" }] } }, "unix");
    // The server's own policy is wider than the agent's.
    w = await serveWithBackend(agent.dir, "host-agent", { commands: { allow: [{ program: "*" }] } }, agent.root, { HOST_AGENT_URL: agent.url, HOST_AGENT_TOKEN: agent.token });
  });
  afterAll(async () => {
    await w?.close();
    await agent?.stop();
  });

  it("execute_command runs through the agent, and the agent's policy still denies", async () => {
    const ok = execResult(w, await w.call("execute_command", { command: "echo via agent" }));
    expect(ok).toMatchObject({ isError: false, exit_code: 0, stdout: "via agent\n" });
    writeFileSync(join(agent.root, "keep"), "x");
    const denied = execResult(w, await w.call("execute_command", { command: "rm keep" }));
    expect(denied.isError).toBe(true);
    expect(denied.text).toMatch(/host_agent\./);
    expect(existsSync(join(agent.root, "keep"))).toBe(true);
    await expectBackendReported(w, "host-agent");
  });
});
