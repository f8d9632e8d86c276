import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startAgent, type RunningAgent } from "../../../src/exec/host-agent/agent-config.js";

export interface AgentEngine {
  agent: RunningAgent;
  url: string;
  token: string;
  /** the agent's read-write root */
  root: string;
  dir: string;
  stop(): Promise<void>;
}

/**
 * Starts the host agent in this process (its own policy file, root, token file) on loopback
 * (`listen` default 127.0.0.1:0) or a unix socket (`unix:` + a path under the temp dir).
 */
export async function startAgentEngine(policy: unknown, listen: "tcp" | "unix" = "tcp"): Promise<AgentEngine> {
  const dir = mkdtempSync(join(tmpdir(), "wa-"));
  const root = join(dir, "root");
  mkdirSync(root);
  const token = randomBytes(24).toString("hex");
  writeFileSync(join(dir, "token"), `${token}\n`, { mode: 0o600 });
  writeFileSync(join(dir, "policy.json"), JSON.stringify(policy));
  const agent = await startAgent({
    listen: listen === "tcp" ? "127.0.0.1:0" : `unix:${join(dir, "agent.sock")}`,
    policyPath: join(dir, "policy.json"),
    roots: [root],
    readOnly: [],
    allow: [],
    tokenFile: join(dir, "token"),
    cwd: dir,
    env: { PATH: process.env.PATH, LANG: "C" },
    log: () => {},
  });
  return {
    agent,
    url: agent.server.url,
    token,
    root: agent.roots[0]!.path,
    dir,
    async stop() {
      await agent.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
