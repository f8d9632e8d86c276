import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { commandEscapeSuite } from "../../support/command-escape-suite.js";
import { expectBackendReported } from "../../support/engines/mcp-exec.js";
import { slurmPolicyFile, startSlurmCluster } from "../../support/engines/slurm-engine.js";
import { startWarden } from "../../support/warden-client.js";

/**
 * The red team's escapes (test/support/command-escape-suite.ts) through `warden serve --backend
 * slurm` on the real two-node cluster: the same attacks, the same canaries; the sandbox is built
 * on the compute node by the native backend running in the session's job step.
 */
const cluster = startSlurmCluster();
const dir = mkdtempSync(join(tmpdir(), "warden-escape-slurm-"));
const policy = slurmPolicyFile(dir, "policy.json", { memory_mb: 600, job_name: "warden-escape-test", immediate_s: 20 });
commandEscapeSuite(
  "command sandbox escapes under --backend slurm (default policy, bubblewrap on the compute node)",
  async (args) => {
    const w = await startWarden(["--backend", "slurm", "--policy", policy, ...args], { env: cluster.env });
    await expectBackendReported(w, "slurm");
    return w;
  },
  Number(process.env.WARDEN_ESCAPE_TRIES ?? 100),
  // --overlay needs the native backend: a slurm server refuses it at start (docs/EVALUATION.md).
  ["normal"],
);
