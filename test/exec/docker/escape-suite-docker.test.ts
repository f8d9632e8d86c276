import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe } from "vitest";
import { commandEscapeSuite } from "../../support/command-escape-suite.js";
import { startDockerEngine, type DockerEngine } from "../../support/engines/docker-engine.js";
import { expectBackendReported } from "../../support/engines/mcp-exec.js";
import { engineUnsupported } from "../../support/engines/require-binary.js";
import { makeTempDir, removeDir } from "../../support/tree.js";
import { startWarden } from "../../support/warden-client.js";

const unsupported = engineUnsupported();
/** The container's user owns the roots it attacks from (as a deployment arranges it). */
const NOBODY = 65534;

/**
 * The shared deny race (test/support/command-escape-suite.ts) through `warden serve --backend
 * volume_mount` on a real dockerd: the default policy, the host's python3 read-only in a busybox
 * image, a background command exchanging directories in its own container while later commands
 * get theirs. Only the deny case: the nested-root attacks on docker are in escape-docker.test.ts.
 */
describe.skipIf(unsupported !== null)(`docker backend: shared escape suite${unsupported ? ` (skipped: ${unsupported})` : ""}`, () => {
  let engine: Promise<DockerEngine> | undefined;
  const dir = makeTempDir("warden-escape-docker-suite-");
  afterAll(async () => {
    await (await engine)?.stop();
    removeDir(dir);
  });
  commandEscapeSuite(
    "command sandbox escapes under --backend volume_mount (default policy, docker masks)",
    async (args) => {
      const e = await (engine ??= startDockerEngine());
      const policy = join(dir, "policy.json");
      const base = JSON.parse(readFileSync(join(__dirname, "../../../policies/default.json"), "utf8")) as Record<string, unknown> & { execution?: Record<string, unknown> };
      delete base.$schema;
      writeFileSync(policy, JSON.stringify({ ...base, execution: { ...(base.execution ?? {}), docker: { image: e.image, user: `${NOBODY}:${NOBODY}` } } }));
      const root = args[args.indexOf("--root") + 1]!;
      execFileSync("chown", ["-R", `${NOBODY}:${NOBODY}`, root]);
      const w = await startWarden(["--backend", "volume_mount", "--policy", policy, ...args], { env: { DOCKER_HOST: e.dockerHost } });
      await expectBackendReported(w, "docker");
      return w;
    },
    Number(process.env.WARDEN_ESCAPE_TRIES ?? 40),
    // --overlay needs the native backend (docs/EVALUATION.md).
    ["normal"],
    ["deny-race", "cwd"],
  );
});
