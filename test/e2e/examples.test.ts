import { execFile } from "node:child_process";
import { readFileSync, statSync } from "node:fs";
import { createServer } from "node:net";
import { dirname, join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadPolicyFile } from "../../src/config/load-policy.js";
import { makeTempDir, removeDir, writeTree } from "../support/tree.js";
import { CLI, REPO, requireBuild } from "./support/warden-process.js";

const run = promisify(execFile);

describe("shipped examples", () => {
  it.each(["opencode.json", "claude-desktop.json"])("examples/%s is valid JSON", (file) => {
    expect(() => JSON.parse(readFileSync(join(REPO, "examples", file), "utf8"))).not.toThrow();
  });

  it("examples/opencode.json runs a clone's build locally (npx once published) and over HTTP with a token from the environment", () => {
    const config = JSON.parse(readFileSync(join(REPO, "examples", "opencode.json"), "utf8"));
    expect(config.mcp.warden).toMatchObject({ type: "local", command: ["node", "/path/to/mcp-warden/dist/cli/main.js", "serve"], enabled: true });
    expect(config.mcp["warden-published"]).toMatchObject({ type: "local", command: ["npx", "-y", "mcp-warden", "serve"], enabled: false });
    expect(config.mcp["warden-remote"]).toMatchObject({ type: "remote", oauth: false, headers: { Authorization: "Bearer {env:WARDEN_TOKEN}" } });
  });

  it("examples/claude-desktop.json runs a clone's build", () => {
    const config = JSON.parse(readFileSync(join(REPO, "examples", "claude-desktop.json"), "utf8"));
    for (const entry of Object.values(config.mcpServers) as { command: string; args: string[] }[]) {
      expect([entry.command, entry.args[0]]).toEqual(["node", "/path/to/mcp-warden/dist/cli/main.js"]);
    }
  });

  // The package is not published yet: a doc that shows `npx -y mcp-warden` must show the form that works today too.
  it.each(["README.md", "docs/OPENCODE.md", "examples/claude-code.md"])("%s gives the from-a-clone command beside the published one", (file) => {
    const text = readFileSync(join(REPO, file), "utf8");
    expect(text).toContain("dist/cli/main.js");
    for (const line of text.split("\n").filter((l) => l.includes("npx -y mcp-warden") || l.includes('"npx", "-y", "mcp-warden"'))) {
      expect(line, `${file}: ${line}`).toMatch(/publish/i);
    }
  });
});

describe("policies/hardened.json", () => {
  const file = join(REPO, "policies", "hardened.json");

  it("validates against the policy schema and is read-only, offline, small", () => {
    const policy = loadPolicyFile(file, { HOME: "/home/someone" });
    expect(policy.filesystem.read_only).toBe(true);
    expect(policy.filesystem.deny).toEqual(expect.arrayContaining(["**/.env", "**/.ssh/**", "**/.aws/**", "**/*.pem"]));
    expect(policy.execution.network).toBe(false);
    expect(policy.execution.confinement).toBe("bubblewrap");
    expect(policy.execution.max_background).toBe(0);
    expect(policy.commands.shells).toEqual([]);
    // Commands do not see filesystem.deny, so nothing that prints file contents is allowed.
    expect(policy.commands.allow.map((r) => r.program).sort()).toEqual(["date", "ls", "pwd", "stat", "true", "wc"]);
    expect(policy.audit.file).toBe("/home/someone/.local/state/mcp-warden/hardened-audit.jsonl");
  });

  it.each([
    ["ls -la src", 0, /^allow/],
    ["wc -l README.md", 0, /^allow/],
    ["cat .env", 1, /default_deny/],
    ["rg --pre=sh pattern .", 1, /default_deny/],
    ["rm -rf src", 1, /default_deny/],
    ["curl http://example.com", 1, /no-network-tools/],
    ["bash -c ls", 1, /deny/],
    ["python3 -c 1", 1, /default_deny/],
  ])("warden check --policy hardened.json -- %s exits %d", async (command, code, rule) => {
    requireBuild();
    const result = await run(process.execPath, [CLI, "check", "--policy", file, "--", ...command.split(" ")], { cwd: REPO, env: { ...process.env, HOME: "/tmp" } }).then(
      (r) => ({ code: 0, out: r.stdout }),
      (err: { code?: number; stdout?: string }) => ({ code: err.code ?? -1, out: err.stdout ?? "" }),
    );
    expect(result.code, result.out).toBe(code);
    expect(result.out).toMatch(rule);
  });
});

describe("scripts/deploy-http.sh", () => {
  let state: string;
  let root: string;
  beforeAll(() => {
    requireBuild();
    state = makeTempDir("warden-deploy-");
    root = makeTempDir("warden-deploy-root-");
    writeTree(root, { "a.txt": "a\n" });
  });
  afterAll(() => {
    try {
      process.kill(Number(readFileSync(join(state, "mcp-warden", "serve-http.pid"), "utf8")), "SIGTERM");
    } catch {
      // not started
    }
    removeDir(state);
    removeDir(root);
  });

  it("from a clone without WARDEN_BIN: makes a 0600 token, starts the clone's build, waits for /health and prints the client config", async () => {
    const port = await freePort();
    const { WARDEN_BIN: _unset, ...env } = process.env;
    const { stdout } = await run("bash", [join(REPO, "scripts", "deploy-http.sh"), "--root", root, "--port", String(port)], {
      // PATH with the node running the tests first, and no `warden` on it.
      env: { ...env, PATH: `${dirname(process.execPath)}:/usr/bin:/bin`, XDG_CONFIG_HOME: state, WARDEN_TOKEN: "" },
      timeout: 60_000,
    });
    expect(stdout).toMatch(/healthy: \{"status":"ok"/);
    expect(stdout).toContain(`http://127.0.0.1:${port}/mcp`);
    const token = join(state, "mcp-warden", "token");
    expect(statSync(token).mode & 0o777).toBe(0o600);
    expect(readFileSync(token, "utf8").trim()).toMatch(/^[0-9a-f]{64}$/);
    const unauth = await fetch(`http://127.0.0.1:${port}/api/v1/system/info`);
    expect(unauth.status).toBe(401);
    const auth = await fetch(`http://127.0.0.1:${port}/api/v1/system/info`, { headers: { authorization: `Bearer ${readFileSync(token, "utf8").trim()}` } });
    expect(auth.status).toBe(200);
  });
});

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}
