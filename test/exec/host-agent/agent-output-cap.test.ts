import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createHostAgentBackend } from "../../../src/exec/host-agent/index.js";
import { request } from "../support.js";

/** An agent whose own policy allows far more output than ours: the backend must cap it again. */
describe("host-agent backend output cap", () => {
  let server: Server;
  let url: string;
  beforeAll(async () => {
    server = createServer((_req, res) => {
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
});
