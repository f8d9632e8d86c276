import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { NULL_AUDIT_SINK, openAuditLog } from "../../audit/file-log.js";
import type { AuditSink } from "../../audit/types.js";
import { exposedAuditFile, resolveAuditFiles } from "../../config/audit-files.js";
import { defaultPolicyPath, loadPolicyFile } from "../../config/load-policy.js";
import { packageVersion } from "../../config/package-root.js";
import { RootHolder } from "../../config/held-roots.js";
import { configuredRoots } from "../../config/resolve-roots.js";
import type { EffectiveRoot } from "../../policy/roots.js";
import type { Policy } from "../../policy/schema/index.js";
import type { DecideCommand } from "../command-policy.js";
import { createExecServices } from "../services.js";
import type { CommandBridge } from "../types.js";
import { startAgentServer, type AgentServer } from "./agent-server.js";

/** Options of `warden agent` after the CLI parsed them. */
export interface AgentOptions {
  listen: string;
  policyPath?: string;
  roots: string[];
  readOnly: string[];
  allow: string[];
  tokenFile?: string;
  auditLog?: string;
  cwd: string;
  env: NodeJS.ProcessEnv;
  log: (message: string) => void;
  /** The pure command policy (default: src/policy/command); tests may pin it. */
  decide?: DecideCommand;
}

/** What the agent process runs: built from explicit options, no module state (tests start two). */
export interface RunningAgent {
  server: AgentServer;
  bridge: CommandBridge;
  policy: Policy;
  roots: EffectiveRoot[];
  close(): Promise<void>;
}

const MIN_TOKEN = 16;

/** The agent's token: --token-file (first line), else HOST_AGENT_TOKEN, else WARDEN_TOKEN. Required. */
export function readAgentToken(tokenFile: string | undefined, env: NodeJS.ProcessEnv): string {
  let token: string | undefined;
  if (tokenFile) {
    try {
      token = readFileSync(tokenFile, "utf8").split(/\r?\n/)[0]?.trim();
    } catch (err) {
      throw new Error(`--token-file ${tokenFile}: cannot read: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
    }
  } else token = (env.HOST_AGENT_TOKEN ?? env.WARDEN_TOKEN)?.trim();
  if (!token) throw new Error("the host agent needs a token: --token-file F or HOST_AGENT_TOKEN (make one with: openssl rand -hex 32)");
  if (token.length < MIN_TOKEN) throw new Error(`the agent token is too short (${token.length} characters; at least ${MIN_TOKEN})`);
  return token;
}

/**
 * Builds the agent's own policy, roots, audit log and bridge (native backend, confined as its
 * policy says), then listens. `createBridge` lets tests inject a bridge.
 */
export async function startAgent(options: AgentOptions, createBridge?: (policy: Policy, roots: EffectiveRoot[], audit: AuditSink) => CommandBridge): Promise<RunningAgent> {
  const token = readAgentToken(options.tokenFile, options.env);
  const policyPath = resolve(options.cwd, options.policyPath ?? options.env.WARDEN_POLICY ?? defaultPolicyPath());
  const policy = loadPolicyFile(policyPath, options.env);
  // Held by descriptor for the agent's life, like the server's (config/held-roots.ts).
  const holder = new RootHolder();
  const roots = configuredRoots(policy, options, options.cwd, holder);
  if (roots.length === 0) throw new Error("the host agent needs at least one root (--root DIR, --read-only DIR or filesystem.roots in its policy)");
  if (policy.execution.backend !== "native") options.log(`agent: policy names backend ${policy.execution.backend}; the agent always runs commands natively on this host`);
  // Commands never reach the agent's audit log or its key: none may lie inside one of its roots.
  const auditFiles = resolveAuditFiles({ ...(options.auditLog ? { auditLog: options.auditLog } : {}), env: options.env, policy, cwd: options.cwd });
  const exposed = exposedAuditFile(auditFiles, roots);
  if (exposed) throw new Error(`refusing to start: ${exposed}`);
  const audit: AuditSink = auditFiles ? await openAuditLog(auditFiles.log, { keyFile: auditFiles.key, headFile: auditFiles.head, log: options.log }) : NULL_AUDIT_SINK;
  const bridge = createBridge
    ? createBridge(policy, roots, audit)
    : createExecServices({ policy, audit, roots: async () => roots, extraAllowed: options.allow, serverEnv: options.env, ...(options.decide ? { decide: options.decide } : {}) }).commands;
  let server: AgentServer;
  try {
    server = await startAgentServer({ bridge, token, listen: options.listen, version: packageVersion(), log: options.log });
  } catch (err) {
    await bridge.close();
    await audit.close();
    throw err;
  }
  return {
    server,
    bridge,
    policy,
    roots,
    async close() {
      await server.close();
      await bridge.close();
      await audit.close();
      holder.close();
    },
  };
}
