import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { REPO } from "../warden-client.js";
import { requireBinary, requireRoot } from "./require-binary.js";

const SCRIPT = join(REPO, "scripts", "slurm-local.sh");

/** A real local cluster from scripts/slurm-local.sh: munged, slurmctld and two slurmd on loopback. */
export interface SlurmCluster {
  /** The environment its clients need (SLURM_CONF), plus PATH. */
  env: Record<string, string>;
  dir: string;
  nodes: [string, string];
  stop(): void;
}

export interface ClusterOptions {
  /** State dir (default: the tests' shared cluster, /tmp/mcp-warden-slurm-test). */
  dir?: string;
  ctlPort?: number;
  nodePort?: number;
  cluster?: string;
  nodePrefix?: string;
  slurmdTimeoutS?: number;
}

/**
 * Starts (or reuses: the script is idempotent and locked) a two-node cluster. The tests' shared
 * one is left running for the other test files (.ci/run stops it after `npm test`); a private one
 * (fault injection) is stopped by its test with stop().
 */
export function startSlurmCluster(o: ClusterOptions = {}): SlurmCluster {
  requireRoot("the slurm backend tests");
  for (const [bin, pkg] of [["slurmctld", "slurmctld"], ["slurmd", "slurmd"], ["salloc", "slurm-client"], ["munged", "munge"], ["bwrap", "bubblewrap"]] as const) requireBinary(bin, pkg);
  const dir = o.dir ?? "/tmp/mcp-warden-slurm-test";
  const prefix = o.nodePrefix ?? "tnode";
  const env: Record<string, string> = {
    PATH: `${process.env.PATH ?? "/usr/bin:/bin"}:/usr/sbin:/sbin`,
    WARDEN_SLURM_DIR: dir,
    WARDEN_SLURM_PORT: String(o.ctlPort ?? 16917),
    WARDEN_SLURM_NODE_PORT: String(o.nodePort ?? 17101),
    WARDEN_SLURM_CLUSTER: o.cluster ?? "warden-test",
    WARDEN_SLURM_NODE_PREFIX: prefix,
    WARDEN_SLURM_NODE_MB: "4000",
    WARDEN_SLURM_SLURMD_TIMEOUT: String(o.slurmdTimeoutS ?? 30),
  };
  const r = spawnSync("bash", [SCRIPT, "start"], { env: { ...process.env, ...env }, encoding: "utf8", timeout: 90_000 });
  if (r.status !== 0) throw new Error(`scripts/slurm-local.sh start failed (${r.status}): ${r.stderr}${r.stdout}`);
  const conf = /^export SLURM_CONF=(.+)$/m.exec(r.stdout)?.[1];
  if (!conf) throw new Error(`scripts/slurm-local.sh start printed no export line: ${r.stdout}`);
  return {
    env: { PATH: env.PATH!, SLURM_CONF: conf },
    dir,
    nodes: [`${prefix}1`, `${prefix}2`],
    stop() {
      spawnSync("bash", [SCRIPT, "stop"], { env: { ...process.env, ...env }, encoding: "utf8", timeout: 60_000 });
    },
  };
}

/** Jobs of the cluster with the given name: id, state, node. */
export function jobs(cluster: SlurmCluster, name: string): { id: string; state: string; node: string }[] {
  const r = spawnSync("squeue", ["-h", `--name=${name}`, "-o", "%i %T %N"], { env: { ...process.env, ...cluster.env }, encoding: "utf8" });
  return r.stdout
    .split("\n")
    .filter(Boolean)
    .map((l) => {
      const [id, state, node] = l.trim().split(/\s+/);
      return { id: id!, state: state!, node: node ?? "" };
    });
}

/** The shipped default policy with an execution.slurm section (and `execution` overrides), written to DIR/NAME. */
export function slurmPolicyFile(dir: string, name: string, slurm: Record<string, unknown>, execution: Record<string, unknown> = {}, extra: Record<string, unknown> = {}): string {
  const base = JSON.parse(readFileSync(join(REPO, "policies", "default.json"), "utf8")) as Record<string, unknown> & { execution?: Record<string, unknown> };
  delete base.$schema;
  const file = join(dir, name);
  writeFileSync(file, JSON.stringify({ ...base, ...extra, execution: { ...(base.execution ?? {}), ...execution, slurm } }));
  return file;
}
