import { chmodSync, chownSync } from "node:fs";
import { afterAll, beforeAll, describe } from "vitest";
import { createSshBackend } from "../../../src/exec/ssh/index.js";
import type { ExecBackend } from "../../../src/exec/types.js";
import { makeCorpusFixture, type CorpusFixture } from "../../policy/command/fixture.js";
import { corpusCases } from "../../support/engines/corpus-run.js";
import { engineUnsupported } from "../../support/engines/require-binary.js";
import { ensureTestUser, startSshEngine, type SshEngine } from "../../support/engines/ssh-engine.js";

const unsupported = engineUnsupported();

/**
 * Over ssh the remote user and host are the sandbox: the read-write root belongs to the remote
 * (non-root) user, everything else (the read-only root, the outside directory and its secret) to
 * root, as on a real remote host. The policy must still deny what it denies.
 */
describe.skipIf(unsupported !== null)(`bypass corpus through the ssh backend${unsupported ? ` (skipped: ${unsupported})` : ""}`, () => {
  let engine: SshEngine;
  let fx: CorpusFixture;
  let backend: ExecBackend;
  beforeAll(async () => {
    engine = await startSshEngine();
    const user = ensureTestUser();
    fx = makeCorpusFixture();
    chmodSync(fx.dir, 0o755);
    chownSync(fx.root, user.uid, user.gid);
    chmodSync(`${fx.outside}/secret.txt`, 0o600);
    backend = createSshBackend({ host: engine.host, port: engine.port, user: engine.user, privateKeyPath: engine.privateKeyPath, agent: false, hostKeySha256: engine.hostKeySha256, roots: [fx.root], readOnlyRoots: [fx.ro], killGraceMs: 300 });
  });
  afterAll(async () => {
    await backend?.close();
    await engine?.stop();
    fx?.cleanup();
  });
  corpusCases("ssh", () => ({ fx, backend }));
});
