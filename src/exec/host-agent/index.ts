import { DENIED_CALLER_ENV, envNameMatches } from "../command-env.js";
import { ExecRefusal } from "../errors.js";
import { failedResult, OutputCollector } from "../output/output-collector.js";
import { shellJoin } from "../shell-quote.js";
import type { BackendProcess, BridgeOutcome, ExecBackend, ExecRequest, ExecResult, ProgramCheck } from "../types.js";
import { AgentClient } from "./agent-client.js";
import type { AgentExecuteBody } from "./protocol.js";

export { startAgentServer, type AgentServer, type AgentServerOptions } from "./agent-server.js";

export interface HostAgentBackendOptions {
  /** HOST_AGENT_URL: http://127.0.0.1:PORT or unix:/path. */
  url: string;
  /** HOST_AGENT_TOKEN. */
  token: string;
  /** Largest agent response read (default MAX_AGENT_RESPONSE_BYTES); a larger one fails the call. */
  maxResponseBytes?: number;
}

/**
 * Forwards approved commands to `warden agent` on the host. The agent re-decides each one with its
 * own policy, so this side cannot widen what runs on the host: a denial there comes back as an
 * ExecRefusal whose rule starts with `host_agent.`. Result shape: the agent's native one.
 */
export function createHostAgentBackend(options: HostAgentBackendOptions): ExecBackend & { client: AgentClient } {
  if (!options.url) throw new Error("host-agent backend: set HOST_AGENT_URL (http://127.0.0.1:8001 or unix:/path)");
  if (!options.token) throw new Error("host-agent backend: set HOST_AGENT_TOKEN (the agent's bearer token)");
  const client = new AgentClient(options.url, options.token, options.maxResponseBytes);

  async function execute(request: ExecRequest, signal?: AbortSignal): Promise<ExecResult> {
    const started = Date.now();
    const body: AgentExecuteBody = {
      command: request.script ?? shellJoin(request.argv),
      working_directory: request.cwd,
      timeout: Math.max(1, Math.ceil(request.timeoutMs / 1000)),
      env: forwardedEnv(request.env),
      ...(request.stdin !== undefined ? { stdin: request.stdin } : {}),
    };
    let res;
    try {
      res = await client.call("POST", "/v1/execute", body, signal);
    } catch (err) {
      if (signal?.aborted) return { ...failedResult("cancelled", started), timed_out: false };
      return failedResult(`host agent at ${options.url}: ${(err as Error).message}`, started);
    }
    if (res.status === 401) throw new ExecRefusal("host_agent.auth", `the host agent at ${options.url} refused the token (401)`);
    if (res.status !== 200) return failedResult(`host agent answered ${res.status}: ${(res.body as { error?: string })?.error ?? ""}`, started);
    const outcome = res.body as BridgeOutcome;
    if (!outcome.allowed) throw new ExecRefusal(`host_agent.${outcome.rule}`, `the host agent's policy denied this (rule ${outcome.rule}): ${outcome.reason}`);
    if (!outcome.result) return failedResult("the host agent returned no result", started);
    // The agent caps output with its own policy: cap it again with ours, which may be smaller.
    const output = new OutputCollector(request);
    output.push("stdout", Buffer.from(outcome.result.stdout ?? ""));
    if (outcome.result.stderr) output.push("stderr", Buffer.from(outcome.result.stderr));
    const capped = output.result(outcome.result);
    return { ...outcome.result, stdout: capped.stdout, stderr: capped.stderr, truncated: outcome.result.truncated || capped.truncated };
  }

  return {
    name: "host-agent",
    client,
    describe() {
      return { backend: "host-agent", confinement: "host agent", detail: `forwards to ${options.url}; the agent applies its own policy and confinement` };
    },
    run(request) {
      return execute(request, request.signal);
    },
    async start(request): Promise<BackendProcess> {
      // The agent runs foreground commands only: a background process here is one long request,
      // killed by closing it (the agent aborts the command when the connection goes away).
      const abort = new AbortController();
      request.signal?.addEventListener("abort", () => abort.abort(), { once: true });
      let killed: string | null = null;
      const done = execute({ ...request, timeoutMs: request.timeoutMs }, abort.signal).then((r) => (killed ? { ...r, signal: killed, exit_code: null } : r));
      return {
        write: async () => {
          throw new Error("the host-agent backend does not forward input to a running process");
        },
        closeStdin: async () => {},
        kill: async (signal = "SIGTERM") => {
          killed = signal;
          abort.abort();
        },
        done,
      };
    },
    async which(program) {
      const res = await client.call("POST", "/v1/check", { program });
      if (res.status === 401) throw new ExecRefusal("host_agent.auth", `the host agent at ${options.url} refused the token (401)`);
      if (res.status !== 200) return null;
      return (res.body as ProgramCheck).path ?? null;
    },
    async close() {
      client.close();
    },
  };
}

/**
 * Variables the caller set that the agent's own policy may accept. The server's derived ones
 * (PATH, HOME and every variable a policy treats as dangerous) are left for the agent to build
 * from its own policy; sending them would only get the call refused there.
 */
function forwardedEnv(env: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(env).filter(([k]) => !DENIED_CALLER_ENV.some((p) => envNameMatches(p, k))));
}
