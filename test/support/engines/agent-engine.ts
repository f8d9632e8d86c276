import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startAgent, type RunningAgent } from "../../../src/exec/host-agent/agent-config.js";
import { CLI } from "../warden-client.js";

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

export interface AgentProcess {
  url: string;
  token: string;
  /** the agent's stderr so far (its start-up line, refusals it logged) */
  stderr(): string;
  stop(): Promise<void>;
}

/**
 * Starts the real `warden agent` CLI (`node dist/cli/main.js agent ARGS`) as its own process on
 * loopback TCP (a free port it picks), with a fresh token file in `dir`. Resolves once it says
 * where it listens; fails with its stderr when it exits first.
 */
export async function spawnAgent(dir: string, args: string[]): Promise<AgentProcess> {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` first (npm test does)`);
  const token = randomBytes(24).toString("hex");
  const tokenFile = join(dir, `agent-token-${randomBytes(4).toString("hex")}`);
  writeFileSync(tokenFile, `${token}\n`, { mode: 0o600 });
  const child: ChildProcess = spawn(process.execPath, [CLI, "agent", "--listen", "127.0.0.1:0", "--token-file", tokenFile, ...args], { cwd: dir, stdio: ["ignore", "ignore", "pipe"], env: { PATH: process.env.PATH ?? "/usr/bin:/bin", LANG: "C" } });
  let stderr = "";
  child.stderr?.on("data", (d: Buffer) => (stderr = (stderr + d.toString()).slice(-16_000)));
  const exited = new Promise<void>((resolve) =>
    child.once("exit", (code, signal) => {
      stderr += `\n[warden agent exited: ${signal ?? `code ${code}`}]\n`;
      resolve();
    }),
  );
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGTERM");
      const t = setTimeout(() => child.kill("SIGKILL"), 10_000);
      await exited;
      clearTimeout(t);
    }
  };
  const url = await new Promise<string>((resolve, reject) => {
    const look = () => {
      const m = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(stderr);
      if (m) resolve(m[1]!);
    };
    child.stderr?.on("data", look);
    void exited.then(() => reject(new Error(`warden agent ${args.join(" ")} exited (${child.exitCode ?? child.signalCode}) before listening: ${stderr}`)));
  });
  return { url, token, stderr: () => stderr, stop };
}
