import { chownSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startDockerEngine, type DockerEngine } from "../../support/engines/docker-engine.js";
import { execResult, expectBackendReported, serveWithBackend } from "../../support/engines/mcp-exec.js";
import { engineUnsupported } from "../../support/engines/require-binary.js";
import { canary } from "../../support/tree.js";
import type { WardenClient } from "../../support/warden-client.js";

const unsupported = engineUnsupported();

describe.skipIf(unsupported !== null)(`MCP client -> warden serve --backend docker -> dockerd${unsupported ? ` (skipped: ${unsupported})` : ""}`, () => {
  let engine: DockerEngine;
  let dir: string;
  let root: string;
  let w: WardenClient;
  const secret = canary("MCP-DOCKER-ENV");
  beforeAll(async () => {
    engine = await startDockerEngine();
    dir = mkdtempSync(join(tmpdir(), "wmd-"));
    root = join(dir, "root");
    mkdirSync(root);
    writeFileSync(join(root, ".env"), `${secret}\n`);
    chownSync(root, 65534, 65534);
    w = await serveWithBackend(
      dir,
      "docker",
      {
        commands: { allow: [{ program: "echo" }, { program: "id" }, { program: "cat" }], trusted_path: ["/usr/bin", "/bin"] },
        execution: { docker: { image: engine.image, user: "65534:65534" }, memory_mb: 128, processes: 64 },
      },
      root,
      { DOCKER_HOST: engine.dockerHost },
    );
  });
  afterAll(async () => {
    await w?.close();
    // The server removes its session container when it exits.
    if (engine) {
      const deadline = Date.now() + 10_000;
      while ((await engine.docker.listContainers({ all: true })).length > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      expect(await engine.docker.listContainers({ all: true })).toEqual([]);
    }
    await engine?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("execute_command runs in the container as the non-root user", async () => {
    const r = execResult(w, await w.call("execute_command", { command: "id -u; echo err >&2" }));
    expect(r).toMatchObject({ isError: false, exit_code: 0, stdout: "65534\n", stderr: "err\n" });
    await expectBackendReported(w, "docker");
  });

  it("the policy's filesystem.deny hides .env from commands; the program lookup and the command share one container", async () => {
    const r = execResult(w, await w.call("execute_command", { command: "cat .env" }));
    expect(r).toMatchObject({ isError: false, exit_code: 0, stdout: "" });
    expect(w.text(await w.call("read_file", { path: join(root, ".env") }))).not.toContain(secret);
    // Created so far (engine events, from the engine's start): one, for the lookups and both commands.
    const events = (await engine.docker.getEvents({ since: 0, until: Math.ceil(Date.now() / 1000), filters: JSON.stringify({ type: ["container"], event: ["create"] }) })) as NodeJS.ReadableStream;
    let text = "";
    for await (const chunk of events) text += String(chunk);
    expect(text.trim().split("\n").filter((l) => l.includes('"create"'))).toHaveLength(1);
  });

  it("the policy still decides: a program it does not allow is refused", async () => {
    const r = execResult(w, await w.call("execute_command", { command: "rm -rf /tmp/x" }));
    expect(r.isError).toBe(true);
  });
});
