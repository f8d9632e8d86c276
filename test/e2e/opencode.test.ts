import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startFakeModel, type ScriptedCall } from "../support/fake-model-server.js";
import { canary, makeTempDir, removeDir, writeTree } from "../support/tree.js";
import { runOpencode } from "./support/opencode.js";
import { CLI, REPO, requireBuild, startWardenHttp, type WardenHttpProcess } from "./support/warden-process.js";

/**
 * OpenCode (npm `opencode-ai`, pinned) as the MCP client, headless, driven by a scripted model on
 * 127.0.0.1 that calls warden's tools. What the model receives in `role: "tool"` messages is what
 * a real model would see.
 */

const TOKEN = "e2e-token-0123456789abcdef";
const SECRET = canary("SECRET");

// OpenCode names MCP tools <server>_<tool>; the server is called "warden" in the config.
const SCRIPT: ScriptedCall[] = [
  { tool: "warden_read_file", args: { path: "hello.txt" } },
  { tool: "warden_execute_command", args: { command: "echo e2e-ok" } },
  { tool: "warden_execute_command", args: { command: "curl http://example.com" } },
  { tool: "warden_read_file", args: { path: ".env" } },
];

/** The shipped example config: the tests run exactly its `warden` and `warden-remote` entries. */
const EXAMPLE = JSON.parse(readFileSync(join(REPO, "examples", "opencode.json"), "utf8")) as {
  mcp: { warden: { command: string[] }; "warden-remote": Record<string, unknown> };
};

/** The local entry with `node /path/to/mcp-warden/dist/cli/main.js` pointed at this checkout's build, plus the test policy. */
function localFromExample(policyFile: string): Record<string, unknown> {
  const { command, ...rest } = EXAMPLE.mcp.warden;
  expect(command.slice(0, 2)).toEqual(["node", "/path/to/mcp-warden/dist/cli/main.js"]);
  return { warden: { ...rest, command: [process.execPath, CLI, ...command.slice(2), "--policy", policyFile] } };
}

/** The remote entry pointed at the test server; OpenCode fills `{env:WARDEN_TOKEN}` itself. */
function remoteFromExample(url: string): Record<string, unknown> {
  return { warden: { ...EXAMPLE.mcp["warden-remote"], url, enabled: true } };
}

let base: string;
let project: string;
let policy: string;

beforeAll(() => {
  requireBuild();
  base = makeTempDir("warden-e2e-");
  project = join(base, "project");
  writeTree(project, { "hello.txt": "hello from the project\n", ".env": `TOKEN=${SECRET}\n` });
  policy = join(base, "policy.json");
  writeFileSync(policy, JSON.stringify({ commands: { allow: [{ program: "echo" }, { program: "sleep" }] }, execution: { timeout_s: 30 } }));
});
afterAll(() => removeDir(base));

function expectScriptResults(results: string[]): void {
  expect(results).toHaveLength(4);
  expect(results[0]).toContain("hello from the project");
  expect(results[1]).toContain("e2e-ok");
  // Denials reach the model as tool errors naming the rule, never with the denied content.
  expect(results[2]).toMatch(/denied/i);
  expect(results[2]).toMatch(/rule/);
  expect(results[3]).toMatch(/rule/);
  expect(results[3]).not.toContain(SECRET);
}

describe("OpenCode end to end", () => {
  // No --root: the roots are the ones OpenCode offers (its project directory, the cwd).
  it("over stdio (examples/opencode.json `warden`): tool results and denials reach the model", async () => {
    const model = await startFakeModel(SCRIPT);
    try {
      const run = await runOpencode({
        cwd: project,
        home: join(base, "home-stdio"),
        baseURL: model.baseURL,
        mcp: localFromExample(policy),
        prompt: "read hello.txt and run a few commands",
        timeoutMs: 90_000,
      });
      const diag = `opencode exit ${run.code}\n${run.stderr}\n${run.stdout}`;
      expect(model.offeredTools(), diag).toEqual(expect.arrayContaining(["warden_read_file", "warden_execute_command", "warden_get_system_info"]));
      expectScriptResults(model.toolResults());
      // OpenCode itself took the isError results as failed tool calls.
      const shown = (run.stdout + run.stderr).replace(/\x1b\[[0-9;]*m/g, "");
      expect(shown, diag).toMatch(/Error: .*\[rule: filesystem\.deny/);
      expect(run.stdout, diag).toContain("All done.");
      expect(run.code, diag).toBe(0);
    } finally {
      await model.close();
    }
  }, 120_000);

  describe("over Streamable HTTP with a bearer token (examples/opencode.json `warden-remote`)", () => {
    let warden: WardenHttpProcess;
    beforeAll(async () => {
      warden = await startWardenHttp(["--root", project, "--policy", policy], { WARDEN_TOKEN: TOKEN });
    });
    afterAll(async () => {
      await warden?.stop();
    });
    const remote = () => remoteFromExample(`${warden.url}/mcp`);

    it("tool results and denials reach the model", async () => {
      const model = await startFakeModel(SCRIPT);
      try {
        const run = await runOpencode({ cwd: project, home: join(base, "home-http"), baseURL: model.baseURL, mcp: remote(), env: { WARDEN_TOKEN: TOKEN }, prompt: "go", timeoutMs: 90_000 });
        const diag = `opencode exit ${run.code}\n${run.stderr}\n${run.stdout}\nwarden:\n${warden.stderr()}`;
        expect(model.offeredTools(), diag).toContain("warden_read_file");
        expectScriptResults(model.toolResults());
        expect(run.code, diag).toBe(0);
      } finally {
        await model.close();
      }
    }, 120_000);

    // OpenCode gives up on a tool call after ~60 s unless progress notifications arrive; the
    // command bridge reports progress about every 5 s, so a 70 s command completes.
    it("a 70 s command outlives OpenCode's 60 s tool timeout thanks to progress notifications", async () => {
      const model = await startFakeModel([{ tool: "warden_execute_command", args: { command: "sleep 70; echo survived", timeout: 120 } }]);
      try {
        const run = await runOpencode({ cwd: project, home: join(base, "home-long"), baseURL: model.baseURL, mcp: remote(), env: { WARDEN_TOKEN: TOKEN }, prompt: "wait", timeoutMs: 150_000 });
        const diag = `opencode exit ${run.code} after ${run.durationMs} ms\n${run.stderr}\n${run.stdout}\nwarden:\n${warden.stderr()}`;
        const results = model.toolResults();
        expect(results, diag).toHaveLength(1);
        expect(results[0], diag).toContain("survived");
        expect(run.durationMs).toBeGreaterThan(70_000);
        expect(run.code, diag).toBe(0);
      } finally {
        await model.close();
      }
    }, 180_000);
  });
});
