import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startWarden, type WardenClient } from "../support/warden-client.js";
import { makeTempDir, removeDir, writeTree } from "../support/tree.js";
import { raw } from "./support.js";

describe("warden serve --metrics-port (stdio mode)", () => {
  let dir: string;
  let w: WardenClient;
  let url: string;
  beforeAll(async () => {
    dir = makeTempDir("warden-metrics-port-");
    writeTree(dir, { "a.txt": "a\n" });
    w = await startWarden(["--root", dir, "--metrics-port", "0"]);
    await w.call("read_file", { path: "a.txt" });
    url = /metrics at (http:\/\/127\.0\.0\.1:\d+)\/metrics/.exec(w.stderr())![1]!;
  });
  afterAll(async () => {
    await w?.close();
    removeDir(dir);
  });

  it("serves /metrics and /ready on loopback, and refuses a rebinding Host", async () => {
    const m = await raw(url, { path: "/metrics" });
    expect(m.status).toBe(200);
    expect(m.text).toMatch(/^mcp_warden_sessions_active\{transport="stdio"\} 1$/m);
    expect(m.text).toMatch(/^mcp_warden_tool_calls_total\{tool="read_file",decision="allow"\} 1$/m);
    expect(m.text).not.toContain(dir);
    expect((await raw(url, { path: "/ready" })).json).toMatchObject({ status: "ready" });
    const rebound = await raw(url, { path: "/metrics", headers: { host: "evil.example.com" } });
    expect(rebound.status).toBe(403);
    expect((await raw(url, { path: "/api/v1/audit" })).status).toBe(404);
  });
});
