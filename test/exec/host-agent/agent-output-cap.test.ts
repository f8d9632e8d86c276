import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createHostAgentBackend } from "../../../src/exec/host-agent/index.js";
import { request } from "../support.js";

/** An agent whose own policy allows far more output than ours: the backend must cap it again. */
describe("host-agent backend output cap", () => {
  let server: Server;
  let url: string;
  let flood = false;
  let flooded = false;
  beforeAll(async () => {
    server = createServer((req, res) => {
      if (req.url === "/v1/execute" && req.headers["x-flood"] === undefined && flood) {
        // A broken or hostile agent: a response far larger than any real one, streamed forever.
        res.writeHead(200, { "content-type": "application/json" });
        const chunk = Buffer.alloc(64 * 1024, 97);
        const pump = () => {
          while (!res.destroyed && res.write(chunk));
          if (!res.destroyed) res.once("drain", pump);
        };
        res.on("close", () => (flooded = true));
        pump();
        return;
      }
      const result = { exit_code: 0, signal: null, stdout: "a".repeat(100_000), stderr: "ok", timed_out: false, truncated: false, duration_ms: 5 };
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ allowed: true, rule: "r", reason: "ok", backend: "native", result }));
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it("applies this server's output_cap_bytes to the agent's result", async () => {
    const backend = createHostAgentBackend({ url, token: "t" });
    const seen: string[] = [];
    const r = await backend.run(request("/tmp", ["/bin/true"], { outputCapBytes: 100, onOutput: (_s, t) => seen.push(t) }));
    await backend.close();
    expect(r.truncated).toBe(true);
    expect(r.stdout).toBe(`${"a".repeat(50)}\n[... 99900 bytes truncated ...]\n${"a".repeat(50)}`);
    expect(r).toMatchObject({ exit_code: 0, stderr: "ok", timed_out: false, duration_ms: 5 });
    expect(seen.join("").length).toBe(100_002);
  });

  it("drops an agent response larger than the limit instead of buffering it, and keeps working", async () => {
    const backend = createHostAgentBackend({ url, token: "t", maxResponseBytes: 1024 * 1024 });
    try {
      flood = true;
      const r = await backend.run(request("/tmp", ["/bin/true"]));
      expect(r.exit_code).toBeNull();
      expect(r.error).toContain("exceeds 1048576 bytes");
      await expect.poll(() => flooded).toBe(true); // the connection was cut, not drained
      flood = false;
      const ok = await backend.run(request("/tmp", ["/bin/true"]));
      expect(ok).toMatchObject({ exit_code: 0, stderr: "ok" });
    } finally {
      flood = false;
      await backend.close();
    }
  });
});
