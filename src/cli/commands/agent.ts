import type { Command } from "commander";
import type { AuditSink } from "../../audit/types.js";
import type { EffectiveRoot } from "../../policy/roots.js";
import type { Policy } from "../../policy/schema/index.js";
import type { CommandBridge } from "../../exec/types.js";
import { startAgent } from "../../exec/host-agent/agent-config.js";
import { collect } from "../options.js";

interface AgentFlags {
  listen: string;
  policy?: string;
  root: string[];
  readOnly: string[];
  allow: string[];
  tokenFile?: string;
  auditLog?: string;
}

/** Injection points for tests; the CLI passes none. */
export interface AgentCommandDeps {
  createBridge?: (policy: Policy, roots: EffectiveRoot[], audit: AuditSink) => CommandBridge;
  env?: NodeJS.ProcessEnv;
}

/**
 * `warden agent`: the host agent, a separate process that runs commands on this host for a server
 * that cannot (one in a container). It enforces its own policy; see docs/HOST_COMMAND_EXECUTION_GUIDE.md.
 */
export function registerAgentCommand(program: Command, deps: AgentCommandDeps = {}): void {
  program
    .command("agent")
    .description("run the host agent: executes commands on this host for a warden server (loopback or unix socket)")
    .option("--listen <addr>", "127.0.0.1:PORT or unix:/PATH", "127.0.0.1:8001")
    .option("--policy <file>", "the agent's own JSON policy (default: policies/default.json, or WARDEN_POLICY)")
    .option("--root <dir>", "read-write root (repeatable)", collect, [])
    .option("--read-only <dir>", "read-only root (repeatable)", collect, [])
    .option("--allow <program>", "the agent may run PROGRAM (repeatable)", collect, [])
    .option("--token-file <file>", "bearer token callers must present (or HOST_AGENT_TOKEN)")
    .option("--audit-log <file>", "keyed, hash-chained JSONL audit log (key and head beside it): changes recorded before they happen")
    .action(async (flags: AgentFlags) => {
      const log = (message: string) => process.stderr.write(`warden agent: ${message}\n`);
      const agent = await startAgent(
        {
          listen: flags.listen,
          ...(flags.policy ? { policyPath: flags.policy } : {}),
          roots: flags.root,
          readOnly: flags.readOnly,
          allow: flags.allow,
          ...(flags.tokenFile ? { tokenFile: flags.tokenFile } : {}),
          ...(flags.auditLog ? { auditLog: flags.auditLog } : {}),
          cwd: process.cwd(),
          env: deps.env ?? process.env,
          log,
        },
        deps.createBridge,
      );
      const d = agent.bridge.describe();
      log(`listening on ${agent.server.url}; backend ${d.backend} (${d.confinement}); roots: ${agent.roots.map((r) => `${r.path} (${r.writable ? "rw" : "ro"})`).join(", ")}`);
      let stopping = false;
      const stop = async (code: number) => {
        if (stopping) return;
        stopping = true;
        await agent.close().catch(() => {});
        process.exit(code);
      };
      process.on("SIGINT", () => void stop(130));
      process.on("SIGTERM", () => void stop(143));
    });
}
