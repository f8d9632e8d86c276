import { afterAll, beforeAll, describe } from "vitest";
import { createSlurmBackend } from "../../../src/exec/slurm/index.js";
import type { ExecBackend } from "../../../src/exec/types.js";
import { makeCorpusFixture, type CorpusFixture } from "../../policy/command/fixture.js";
import { corpusCases, withTrustedBin } from "../../support/engines/corpus-run.js";
import { startSlurmCluster } from "../../support/engines/slurm-engine.js";

/**
 * The bypass corpus through the real bridge and the slurm backend on the real two-node cluster:
 * every allowed case runs under bubblewrap on a compute node, in the job step of one allocation.
 */
describe("bypass corpus under --backend slurm (real cluster)", () => {
  let fx: CorpusFixture;
  let slurm: ExecBackend;
  let backend: ExecBackend;
  beforeAll(() => {
    const cluster = startSlurmCluster();
    fx = makeCorpusFixture();
    slurm = createSlurmBackend({
      confinement: "bubblewrap",
      settings: { salloc: "salloc", srun: "srun", scancel: "scancel", squeue: "squeue", immediateS: 20, jobName: "warden-corpus-test", memoryMb: 600, env: { ...process.env, ...cluster.env } },
    });
    backend = withTrustedBin(slurm, fx.bin);
  });
  afterAll(async () => {
    await slurm?.close();
    fx?.cleanup();
  });
  corpusCases("slurm", () => ({ fx, backend }));
});
