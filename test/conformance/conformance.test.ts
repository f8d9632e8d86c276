import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "../http/support.js";

const REPO = join(import.meta.dirname, "..", "..");
const CONFORMANCE = join(REPO, "node_modules", "@modelcontextprotocol", "conformance", "dist", "index.js");
const BASELINE = join(import.meta.dirname, "baseline.yml");
/** Scenarios a tools-only server must pass whatever the baseline says. */
const REQUIRED = ["server-initialize", "ping", "tools-list", "server-sse-multiple-streams", "dns-rebinding-protection"];

interface Run {
  code: number | null;
  output: string;
}

/** Runs the official suite against the server; output is captured (its `Total:` line must not end CI logs). */
function runConformance(url: string, args: string[]): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CONFORMANCE, "server", "--url", url, ...args], {
      env: { ...process.env, NO_COLOR: "1", FORCE_COLOR: "0" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    child.stdout.on("data", (d: Buffer) => (output += d.toString()));
    child.stderr.on("data", (d: Buffer) => (output += d.toString()));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, output }));
  });
}

/** Per-scenario lines of the suite summary: `✓ name: 3 passed, 0 failed` / `✗ name: ...`. */
function scenarioResults(output: string): Map<string, boolean> {
  const results = new Map<string, boolean>();
  for (const m of output.matchAll(/^([✓✗])\s+([a-z0-9-]+):/gm)) results.set(m[2]!, m[1] === "✓");
  return results;
}

describe("official MCP conformance suite (@modelcontextprotocol/conformance) over Streamable HTTP", () => {
  let s: TestServer;
  let run: Run;
  beforeAll(async () => {
    s = await startTestServer();
    // Per-scenario checks.json files land here (CI may keep WARDEN_CONFORMANCE_OUT as an artifact).
    const out = process.env.WARDEN_CONFORMANCE_OUT ?? mkdtempSync(join(tmpdir(), "warden-conformance-"));
    mkdirSync(out, { recursive: true });
    run = await runConformance(`${s.url}/mcp`, ["--expected-failures", BASELINE, "--output-dir", out]);
    writeFileSync(join(out, "output.txt"), run.output);
  }, 300_000);
  afterAll(() => s?.close());

  it("passes every scenario not listed in test/conformance/baseline.yml, and the baseline is not stale", () => {
    expect(run.output, run.output).toMatch(/Baseline check passed/);
    expect(run.code, run.output).toBe(0);
  });

  it.each(REQUIRED)("passes %s", (scenario) => {
    expect(scenarioResults(run.output).get(scenario), run.output).toBe(true);
  });
});
