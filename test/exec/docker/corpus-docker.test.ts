import { chownSync } from "node:fs";
import { afterAll, beforeAll, describe } from "vitest";
import { createDockerBackend } from "../../../src/exec/docker/index.js";
import type { ExecBackend } from "../../../src/exec/types.js";
import { makeCorpusFixture, type CorpusFixture } from "../../policy/command/fixture.js";
import { corpusCases, withTrustedBin } from "../../support/engines/corpus-run.js";
import { startDockerEngine, type DockerEngine } from "../../support/engines/docker-engine.js";
import { engineUnsupported } from "../../support/engines/require-binary.js";

const unsupported = engineUnsupported();

/** volume_mount (host binaries in a busybox image): the fixture's trusted PATH links to host programs. */
describe.skipIf(unsupported !== null)(`bypass corpus through the docker backend (volume_mount)${unsupported ? ` (skipped: ${unsupported})` : ""}`, () => {
  let engine: DockerEngine;
  let fx: CorpusFixture;
  let docker: ReturnType<typeof createDockerBackend>;
  let backend: ExecBackend;
  beforeAll(async () => {
    engine = await startDockerEngine();
    fx = makeCorpusFixture();
    chownSync(fx.root, 65534, 65534);
    docker = createDockerBackend({ image: engine.image, user: "65534:65534", cpus: 1, hostBinaries: true, env: { DOCKER_HOST: engine.dockerHost }, killGraceMs: 300,
      // The container which() uses is the one commands run in: the same roots (plus the trusted PATH dir).
      roots: [
        { path: fx.root, writable: true },
        { path: fx.ro, writable: false },
        { path: fx.bin, writable: false },
      ],
      limits: { memoryMb: fx.policy.execution.memory_mb, processes: fx.policy.execution.processes, network: false },
    });
    backend = withTrustedBin(docker, fx.bin);
  });
  afterAll(async () => {
    await docker?.close();
    await engine?.stop();
    fx?.cleanup();
  });
  corpusCases("docker", () => ({ fx, backend }));
});
