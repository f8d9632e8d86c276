import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createSlurmBackend } from "../../../src/exec/slurm/index.js";
import type { ExecBackend, ExecRequest } from "../../../src/exec/types.js";
import { startSlurmCluster, type SlurmCluster } from "../../support/engines/slurm-engine.js";
import { makeTempDir, removeDir } from "../../support/tree.js";

/**
 * Fault injection on a private two-node cluster (its own state, ports and node names, so the other
 * slurm tests keep theirs): slurmd of the session's node is killed mid-command. srun then says
 * "Node failure" and exits 0; the command must get a clear error, never a success, and the
 * session's next command a new allocation on the node that is left.
 */
describe("slurm backend: a compute node fails mid-session", () => {
  let cluster: SlurmCluster;
  let root: string;
  let backend: ExecBackend;

  beforeAll(() => {
    cluster = startSlurmCluster({ dir: "/tmp/mcp-warden-slurm-fault", ctlPort: 16927, nodePort: 17111, cluster: "warden-fault", nodePrefix: "fnode", slurmdTimeoutS: 10 });
    root = makeTempDir("warden-slurm-fault-");
    backend = createSlurmBackend({
      confinement: "bubblewrap",
      settings: { salloc: "salloc", srun: "srun", scancel: "scancel", squeue: "squeue", immediateS: 20, jobName: "warden-t-fault", memoryMb: 300, env: { ...process.env, ...cluster.env } },
    });
  });
  afterAll(async () => {
    await backend?.close();
    cluster?.stop();
    if (root) removeDir(root);
  });

  const request = (script: string, timeoutMs = 20_000): ExecRequest => ({
    argv: ["/bin/sh"],
    script,
    cwd: root,
    env: { PATH: "/usr/bin:/bin" },
    timeoutMs,
    outputCapBytes: 64 * 1024,
    limits: { memoryMb: 1000, processes: 100, cpuS: 120, fileSizeMb: 10, network: false },
    roots: [{ path: root, writable: true }],
    session: "fault",
  });

  it("slurmd killed: the running command fails with a clear error, the next one gets a new allocation elsewhere", async () => {
    const first = await backend.run(request("echo up"));
    expect(first.stdout).toBe("up\n");
    const { node, job } = first.placement!;
    const running = backend.run(request("sleep 100; echo finished", 110_000));
    await new Promise((r) => setTimeout(r, 500));
    const pid = Number(readFileSync(join(cluster.dir, "run", `slurmd-${node}.pid`), "utf8"));
    process.kill(pid, "SIGKILL");
    const failed = await running;
    console.log(`node ${node} failed: ${failed.error}`);
    expect(failed.stdout).not.toContain("finished");
    expect(failed.exit_code).toBeNull();
    expect(failed.error).toMatch(new RegExp(`Node failure on ${node}|step ended`));
    expect(failed.error).toContain(`Job ${job} on node ${node} is gone; the next command gets a new allocation`);
    const next = await backend.run(request("echo again"));
    expect(next.stdout, JSON.stringify(next)).toBe("again\n");
    expect(next.placement!.job).not.toBe(job);
    expect(next.placement!.node).not.toBe(node);
  }, 120_000);
});
