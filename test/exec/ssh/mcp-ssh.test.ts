import { chmodSync, chownSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { execResult, expectBackendReported, serveWithBackend } from "../../support/engines/mcp-exec.js";
import { engineUnsupported } from "../../support/engines/require-binary.js";
import { ensureTestUser, startSshEngine, type SshEngine } from "../../support/engines/ssh-engine.js";
import type { WardenClient } from "../../support/warden-client.js";

const unsupported = engineUnsupported();

describe.skipIf(unsupported !== null)(`MCP client -> warden serve --backend ssh -> sshd${unsupported ? ` (skipped: ${unsupported})` : ""}`, () => {
  let engine: SshEngine;
  let dir: string;
  let root: string;
  let w: WardenClient;
  beforeAll(async () => {
    engine = await startSshEngine();
    const user = ensureTestUser();
    dir = mkdtempSync(join(tmpdir(), "wms-"));
    chmodSync(dir, 0o755);
    root = join(dir, "root");
    mkdirSync(root);
    chownSync(root, user.uid, user.gid);
    w = await serveWithBackend(
      dir,
      "ssh",
      {
        commands: { allow: [{ program: "echo" }, { program: "id" }], trusted_path: ["/usr/bin", "/bin"] },
        execution: { ssh: { host: engine.host, port: engine.port, user: engine.user, private_key_path: engine.privateKeyPath, host_key_sha256: engine.hostKeySha256, roots: [root] } },
      },
      root,
    );
  });
  afterAll(async () => {
    await w?.close();
    await engine?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("execute_command runs on the remote host as the remote user", async () => {
    const r = execResult(w, await w.call("execute_command", { command: "id -un" }));
    expect(r).toMatchObject({ isError: false, exit_code: 0, stdout: `${engine.user}\n` });
    await expectBackendReported(w, "ssh");
  });
});
