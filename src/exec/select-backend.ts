import type { EffectiveRoot } from "../policy/roots.js";
import type { Policy } from "../policy/schema/index.js";
import { createDockerBackend } from "./docker/index.js";
import { createHostAgentBackend } from "./host-agent/index.js";
import { createNativeBackend } from "./native/index.js";
import { createSlurmBackend } from "./slurm/index.js";
import { createSshBackend } from "./ssh/index.js";
import type { BackendName, ExecBackend } from "./types.js";

/** Where the choice came from, for the start-up log and get_system_info. */
export type SelectionSource = "flag" | "env" | "policy";

export interface BackendSelection {
  backend: BackendName;
  /** EXECUTION_MODE=privileged: native with policy checks off (the bridge's privileged flag). */
  privileged: boolean;
  /** volume_mount: the docker backend with the host's binaries mounted read-only. */
  hostBinaries: boolean;
  /** The name as given (`docker_socket`, `ssh`, ...). */
  mode: string;
  source: SelectionSource;
}

/** Every accepted name: the SPEC's five plus the seed's EXECUTION_MODE names. */
const NAMES: Record<string, { backend: BackendName; privileged?: boolean; hostBinaries?: boolean }> = {
  native: { backend: "native" },
  docker: { backend: "docker" },
  ssh: { backend: "ssh" },
  "host-agent": { backend: "host-agent" },
  slurm: { backend: "slurm" },
  host_agent: { backend: "host-agent" },
  docker_socket: { backend: "docker" },
  ssh_remote: { backend: "ssh" },
  volume_mount: { backend: "docker", hostBinaries: true },
  privileged: { backend: "native", privileged: true },
};

/** A backend name nobody knows; the message lists the accepted ones. */
export class BackendSelectionError extends Error {
  override name = "BackendSelectionError";
}

/**
 * Picks the backend: `--backend` wins over EXECUTION_MODE, which wins over
 * policy.execution.backend (flags over env over policy, as everywhere). Pure.
 */
export function selectBackend(input: { flag?: string; env?: NodeJS.ProcessEnv; policy: Policy }): BackendSelection {
  const envMode = input.env?.EXECUTION_MODE?.trim();
  const [raw, source]: [string, SelectionSource] = input.flag ? [input.flag, "flag"] : envMode ? [envMode, "env"] : [input.policy.execution.backend, "policy"];
  const mode = raw.trim().toLowerCase();
  const hit = NAMES[mode];
  if (!hit) {
    throw new BackendSelectionError(`unknown backend "${raw}" (from ${source === "flag" ? "--backend" : source === "env" ? "EXECUTION_MODE" : "execution.backend"}); use one of: ${Object.keys(NAMES).join(", ")}`);
  }
  return {
    backend: hit.backend,
    privileged: hit.privileged ?? false,
    hostBinaries: hit.hostBinaries ?? (hit.backend === "docker" && input.policy.execution.docker.host_binaries),
    mode,
    source,
  };
}

export interface BackendContext {
  policy: Policy;
  env: NodeJS.ProcessEnv;
  /** Configured roots: the docker backend mounts them in its first container. */
  roots?: EffectiveRoot[];
  log?: (message: string) => void;
}

/** Creates the selected backend from the policy's subsection; a missing subsection is an error that names it. */
export function createBackend(selection: BackendSelection, ctx: BackendContext): ExecBackend {
  const e = ctx.policy.execution;
  switch (selection.backend) {
    case "native":
      return createNativeBackend({ confinement: e.confinement });
    case "docker":
      return createDockerBackend({
        image: e.docker.image,
        user: e.docker.user,
        cpus: e.docker.cpus,
        hostBinaries: selection.hostBinaries,
        ...(e.docker.socket ? { socket: e.docker.socket } : {}),
        env: ctx.env,
        roots: (ctx.roots ?? []).map((r) => ({ path: r.path, writable: r.writable, ...(r.held ? { held: r.held } : {}) })),
        limits: { memoryMb: e.memory_mb, processes: e.processes, network: e.network },
        deny: { denyGlobs: ctx.policy.filesystem.deny, denyScanLimit: e.deny_scan_limit, denyScanBudgetMs: e.deny_scan_budget_ms },
        ...(ctx.log ? { log: ctx.log } : {}),
      });
    case "ssh": {
      const s = e.ssh;
      if (!s) throw new BackendSelectionError("the ssh backend needs execution.ssh in the policy (host, user, host key pin)");
      return createSshBackend({
        host: s.host,
        port: s.port,
        user: s.user,
        agent: s.agent,
        roots: s.roots,
        readOnlyRoots: s.read_only_roots,
        env: ctx.env,
        ...(s.private_key_path ? { privateKeyPath: s.private_key_path } : {}),
        ...(s.known_hosts ? { knownHosts: s.known_hosts } : {}),
        ...(s.host_key_sha256 ? { hostKeySha256: s.host_key_sha256 } : {}),
      });
    }
    case "host-agent": {
      const h = e.host_agent;
      const url = ctx.env.HOST_AGENT_URL ?? h?.url;
      const token = ctx.env[h?.token_env ?? "HOST_AGENT_TOKEN"];
      if (!url) throw new BackendSelectionError("the host-agent backend needs HOST_AGENT_URL (or execution.host_agent.url): http://127.0.0.1:8001 or unix:/path");
      if (!token) throw new BackendSelectionError(`the host-agent backend needs the agent's token in ${h?.token_env ?? "HOST_AGENT_TOKEN"}`);
      return createHostAgentBackend({ url, token });
    }
    case "slurm": {
      const s = e.slurm;
      return createSlurmBackend({
        confinement: e.confinement,
        settings: {
          salloc: s?.salloc ?? "salloc",
          srun: s?.srun ?? "srun",
          scancel: s?.scancel ?? "scancel",
          squeue: s?.squeue ?? "squeue",
          ...(s?.partition ? { partition: s.partition } : {}),
          ...(s?.account ? { account: s.account } : {}),
          ...(s?.constraint ? { constraint: s.constraint } : {}),
          ...(s?.cpus ? { cpus: s.cpus } : {}),
          ...(s?.memory_mb ? { memoryMb: s.memory_mb } : {}),
          ...(s?.time_minutes ? { timeMinutes: s.time_minutes } : {}),
          immediateS: s?.immediate_s ?? 10,
          jobName: s?.job_name ?? "mcp-warden",
          env: ctx.env,
        },
        ...(s?.node_binary ? { nodeBinary: s.node_binary } : {}),
        ...(s?.warm_sessions ? { warmSessions: s.warm_sessions } : {}),
        ...(ctx.log ? { log: ctx.log } : {}),
      });
    }
  }
}
