import { spawn } from "node:child_process";
import { existsSync, statSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createCommandBridge } from "../../../src/exec/bridge.js";
import { createHostAgentBackend } from "../../../src/exec/host-agent/index.js";
import { createNativeBackend } from "../../../src/exec/native/index.js";
import type { ExecRequest } from "../../../src/exec/types.js";
import { parsePolicy } from "../../../src/config/load-policy.js";
import { startAgentEngine, type AgentEngine } from "../../support/engines/agent-engine.js";
import { processesWith } from "../support.js";

const AGENT_POLICY = {
  commands: { allow: [{ program: "echo" }, { program: "cat" }, { program: "sleep" }, { program: "true" }, { program: "ls" }, { program: "sh" }], deny: [{ program: "rm" }] },
  execution: { timeout_s: 30 },
};
/** The server side is deliberately wider: the agent must still refuse rm. */
const SERVER_POLICY = { commands: { allow: [{ program: "*" }] } };

function raw(url: string, method: string, path: string, headers: Record<string, string>, body?: string): Promise<{ status: number; body: string }> {
  const a = new URL(url);
  return new Promise((res, rej) => {
    const req = request({ host: a.hostname, port: a.port, method, path, headers }, (r) => {
      let b = "";
      r.on("data", (c) => (b += c));
      r.on("end", () => res({ status: r.statusCode ?? 0, body: b }));
    });
    req.on("error", rej);
    req.end(body);
  });
}

describe.skipIf(process.platform !== "linux")(`host agent${process.platform !== "linux" ? " (skipped: native confinement needs Linux)" : ""}`, () => {
  let tcp: AgentEngine;
  let unix: AgentEngine;
  const req = (e: AgentEngine, argv: string[], extra: Partial<ExecRequest> = {}): ExecRequest => ({
    argv,
    cwd: e.root,
    env: { PATH: "/usr/bin:/bin", LANG: "C" },
    timeoutMs: 10_000,
    outputCapBytes: 64 * 1024,
    limits: { memoryMb: 512, processes: 64, cpuS: 60, fileSizeMb: 16, network: false },
    roots: [{ path: e.root, writable: true }],
    ...extra,
  });

  beforeAll(async () => {
    tcp = await startAgentEngine(AGENT_POLICY, "tcp");
    unix = await startAgentEngine(AGENT_POLICY, "unix");
  });
  afterAll(async () => {
    await tcp?.stop();
    await unix?.stop();
  });

  it("answers health without a token and refuses a missing or wrong token with 401", async () => {
    expect((await raw(tcp.url, "GET", "/v1/health", {})).status).toBe(200);
    const body = JSON.stringify({ command: "echo hi" });
    const json = { "content-type": "application/json" };
    expect((await raw(tcp.url, "POST", "/v1/execute", json, body)).status).toBe(401);
    expect((await raw(tcp.url, "POST", "/v1/execute", { ...json, authorization: `Bearer ${tcp.token}x` }, body)).status).toBe(401);
    expect((await raw(tcp.url, "POST", "/v1/execute", { ...json, authorization: `Bearer ${unix.token}` }, body)).status).toBe(401);
    const ok = await raw(tcp.url, "POST", "/v1/execute", { ...json, authorization: `Bearer ${tcp.token}` }, body);
    expect(ok.status).toBe(200);
    expect(JSON.parse(ok.body).result.stdout).toBe("hi\n");
    const bad = createHostAgentBackend({ url: tcp.url, token: "wrong-token-wrong-token" });
    await expect(bad.run(req(tcp, ["/bin/echo", "x"]))).rejects.toThrow(/refused the token \(401\)/);
    await bad.close();
  });

  it("refuses an oversized body with 413", async () => {
    const big = JSON.stringify({ command: "cat", stdin: "x".repeat(5 * 1024 * 1024) });
    const r = await raw(tcp.url, "POST", "/v1/execute", { "content-type": "application/json", authorization: `Bearer ${tcp.token}` }, big);
    expect(r.status).toBe(413);
  });

  it("runs commands with separate stdout, stderr and exit code, same result shape as native", async () => {
    const b = createHostAgentBackend({ url: tcp.url, token: tcp.token });
    const cat = await b.which("cat", ["/usr/bin", "/bin"]);
    expect(cat).toMatch(/\/cat$/);
    writeFileSync(join(tcp.root, "f.txt"), "content\n");
    const r = await b.run(req(tcp, [cat!, "f.txt", "missing.txt"]));
    expect(r).toMatchObject({ exit_code: 1, stdout: "content\n", timed_out: false, truncated: false });
    expect(r.stderr).toMatch(/missing\.txt/);
    const native = await createNativeBackend({ confinement: "bubblewrap" }).run(req(tcp, [cat!, "f.txt", "missing.txt"]));
    expect(Object.keys(r).sort()).toEqual(Object.keys(native).sort());
    expect({ ...r, duration_ms: 0 }).toEqual({ ...native, duration_ms: 0 });
    await b.close();
  });

  it("passes stdin and kills at the timeout", async () => {
    const b = createHostAgentBackend({ url: tcp.url, token: tcp.token });
    const r = await b.run(req(tcp, [(await b.which("cat", []))!], { stdin: "piped\n" }));
    expect(r.stdout).toBe("piped\n");
    const t0 = Date.now();
    const s = await b.run(req(tcp, [(await b.which("sleep", []))!, "30"], { timeoutMs: 1000 }));
    expect(s.timed_out).toBe(true);
    expect(Date.now() - t0).toBeLessThan(8000);
    await b.close();
  });

  it("a background process through the agent: kill closes the request and the agent kills the command", async () => {
    const b = createHostAgentBackend({ url: tcp.url, token: tcp.token });
    const marker = `${4000 + (process.pid % 1000)}`;
    const p = await b.start(req(tcp, [(await b.which("sleep", []))!, marker], { timeoutMs: 60_000 }));
    const deadline = Date.now() + 5000;
    while (processesWith(`sleep\0${marker}`).length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(processesWith(`sleep\0${marker}`).length).toBeGreaterThan(0);
    await p.kill("SIGTERM");
    const r = await p.done;
    expect(r.signal).toBe("SIGTERM");
    const gone = Date.now() + 5000;
    while (processesWith(`sleep\0${marker}`).length > 0 && Date.now() < gone) await new Promise((res) => setTimeout(res, 50));
    expect(processesWith(`sleep\0${marker}`)).toEqual([]);
    await b.close();
  });

  it("its own policy denies what the server side would allow", async () => {
    writeFileSync(join(tcp.root, "keep.txt"), "x");
    const backend = createHostAgentBackend({ url: tcp.url, token: tcp.token });
    const policy = parsePolicy(SERVER_POLICY);
    const bridge = createCommandBridge({ policy, backend, audit: { record: async () => {}, close: async () => {} }, roots: async () => [{ path: tcp.root, writable: true }] });
    const denied = await bridge.execute({ command: "rm -f keep.txt" });
    expect(denied.allowed).toBe(false);
    expect(denied.rule).toMatch(/^host_agent\./);
    expect(denied.reason).toMatch(/host agent's policy denied/);
    expect(existsSync(join(tcp.root, "keep.txt"))).toBe(true);
    const allowed = await bridge.execute({ command: "echo through the agent" });
    expect(allowed).toMatchObject({ allowed: true, backend: "host-agent", result: { exit_code: 0, stdout: "through the agent\n" } });
    await bridge.close();
  });

  it("listens on a unix socket with mode 0600", async () => {
    const sock = unix.url.slice("unix:".length);
    expect(statSync(sock).isSocket()).toBe(true);
    expect(statSync(sock).mode & 0o777).toBe(0o600);
    const b = createHostAgentBackend({ url: unix.url, token: unix.token });
    const echo = await b.which("echo", []);
    expect(await b.run(req(unix, [echo!, "over", "the socket"]))).toMatchObject({ exit_code: 0, stdout: "over the socket\n" });
    await b.close();
  });

  it("`warden agent` CLI starts on a unix socket and refuses to start without a token", async () => {
    const main = resolve("dist/cli/main.js");
    if (!existsSync(main)) throw new Error("dist/cli/main.js is missing: run `npm run build` first (npm test does)");
    const sock = join(tcp.dir, "cli.sock");
    const tokenFile = join(tcp.dir, "token");
    const child = spawn(process.execPath, [main, "agent", "--listen", `unix:${sock}`, "--root", tcp.root, "--token-file", tokenFile, "--policy", join(tcp.dir, "policy.json")], { stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (d) => (stderr += d));
    try {
      const deadline = Date.now() + 15_000;
      while (!/listening on/.test(stderr)) {
        if (child.exitCode !== null || Date.now() > deadline) throw new Error(`agent did not start: ${stderr}`);
        await new Promise((r) => setTimeout(r, 50));
      }
      const b = createHostAgentBackend({ url: `unix:${sock}`, token: tcp.token });
      expect(await b.run(req(tcp, [(await b.which("echo", []))!, "cli"]))).toMatchObject({ exit_code: 0, stdout: "cli\n" });
      await b.close();
    } finally {
      child.kill("SIGTERM");
    }
    const noToken = spawn(process.execPath, [main, "agent", "--listen", "127.0.0.1:0", "--root", tcp.root], { stdio: ["ignore", "ignore", "pipe"], env: { PATH: process.env.PATH } });
    let err = "";
    noToken.stderr.on("data", (d) => (err += d));
    const code = await new Promise((r) => noToken.on("exit", r));
    expect(code).not.toBe(0);
    expect(err).toMatch(/needs a token/);
  });
});
