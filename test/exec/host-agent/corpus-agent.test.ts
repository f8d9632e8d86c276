import { randomBytes } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe } from "vitest";
import { createCommandBridge } from "../../../src/exec/bridge.js";
import { startAgent, type RunningAgent } from "../../../src/exec/host-agent/agent-config.js";
import { createHostAgentBackend } from "../../../src/exec/host-agent/index.js";
import { createNativeBackend } from "../../../src/exec/native/index.js";
import type { ExecBackend } from "../../../src/exec/types.js";
import { makeCorpusFixture, type CorpusFixture } from "../../policy/command/fixture.js";
import { corpusCases, withTrustedBin } from "../../support/engines/corpus-run.js";

/**
 * The agent enforces the same corpus policy again with its own bridge and a native (bubblewrap)
 * backend on the "host"; the server side forwards through the host-agent backend.
 */
describe.skipIf(process.platform !== "linux")(`bypass corpus through the host agent${process.platform !== "linux" ? " (skipped: needs Linux)" : ""}`, () => {
  let fx: CorpusFixture;
  let agent: RunningAgent;
  let backend: ExecBackend;
  beforeAll(async () => {
    fx = makeCorpusFixture();
    const token = randomBytes(24).toString("hex");
    writeFileSync(join(fx.dir, "token"), token);
    writeFileSync(join(fx.dir, "policy.json"), JSON.stringify({ ...fx.policy, $schema: undefined }));
    const native = withTrustedBin(createNativeBackend({ confinement: "bubblewrap", killGraceMs: 300 }), fx.bin);
    agent = await startAgent(
      { listen: "127.0.0.1:0", policyPath: join(fx.dir, "policy.json"), roots: [fx.root], readOnly: [fx.ro], allow: [], tokenFile: join(fx.dir, "token"), cwd: fx.dir, env: { PATH: "/usr/bin:/bin" }, log: () => {} },
      (policy, roots, audit) => createCommandBridge({ policy, backend: native, audit, roots: async () => roots }),
    );
    backend = createHostAgentBackend({ url: agent.server.url, token });
  });
  afterAll(async () => {
    await backend?.close();
    await agent?.close();
    fx?.cleanup();
  });
  corpusCases("host-agent", () => ({ fx, backend }));
});
