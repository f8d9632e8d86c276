#!/usr/bin/env node
// execute_command of `true`: the whole MCP tool call (SDK client -> `warden serve` over stdio ->
// bridge -> bubblewrap) against a plain execa spawn of `true`, measured in the same run.
// Run after `npm run build`: node bench/exec.mjs   (N=300 node bench/exec.mjs for more samples)
// Where the server does not offer execute_command yet, the bridge is measured directly instead,
// and the output says so.
import { mkdtempSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { execa } from "execa";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { measureAll } from "./lib/measure.mjs";

if (process.argv[2] === "--serve-harness") {
  await serveHarness(process.argv[3], process.argv[4]);
} else {
  await main();
}

/**
 * Stand-in server while `warden serve` does not list execute_command yet: the SDK's McpServer over
 * stdio with the real execute_command tool file and the real bridge, nothing else.
 */
async function serveHarness(root, confinement) {
  const dist = process.env.WARDEN_DIST ?? fileURLToPath(new URL("../dist/", import.meta.url));
  const load = (rel) => import(pathToFileURL(join(dist, rel)).href);
  const { McpServer } = await import("@modelcontextprotocol/sdk/server/mcp.js");
  const { StdioServerTransport } = await import("@modelcontextprotocol/sdk/server/stdio.js");
  const { createExecServices } = await load("exec/services.js");
  const { parsePolicy } = await load("config/load-policy.js");
  const { executeCommandTool } = await load("tools/execute-command.js");
  const policy = parsePolicy({ execution: { confinement } });
  const roots = [{ path: root, writable: true }];
  const services = createExecServices({ policy, audit: { record: async () => {}, close: async () => {} }, roots: async () => roots, extraAllowed: ["true"] });
  const server = new McpServer({ name: "warden-bench-harness", version: "0" });
  const tool = executeCommandTool;
  server.registerTool(tool.name, { description: tool.description, inputSchema: tool.inputSchema, outputSchema: tool.outputSchema, annotations: tool.annotations }, async (args, extra) => {
    const ctx = { roots: async () => roots, policy, services: { commands: services.commands, processes: services.processes }, signal: extra.signal, progress: async () => {} };
    const out = await tool.handler(args, ctx);
    return out.ok ? { content: [{ type: "text", text: out.text }], structuredContent: out.structured } : { isError: true, content: [{ type: "text", text: out.message }] };
  });
  await server.connect(new StdioServerTransport());
}

async function main() {
const N = Number(process.env.N ?? 200);
const WARMUP = 20;
const dist = process.env.WARDEN_DIST ?? fileURLToPath(new URL("../dist/", import.meta.url));
const load = (rel) => import(pathToFileURL(join(dist, rel)).href);


const root = realpathSync(mkdtempSync(join(tmpdir(), "warden-bench-")));
const BWRAP = ["--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp", "--bind", root, root, "--unshare-net", "--unshare-pid", "--die-with-parent", "--new-session", "--cap-drop", "ALL"];
const cases = [];
const closers = [];
cases.push({ name: "plain execa spawn of true (peer)", fn: () => execa("/usr/bin/true") });
cases.push({ name: "plain execa spawn of bwrap ... true (peer)", fn: () => execa("/usr/bin/bwrap", [...BWRAP, "--", "/usr/bin/true"]) });

/** Through the real server, when it offers execute_command. */
async function viaMcp(confinement, harness = false) {
  const args = harness ? [fileURLToPath(import.meta.url), "--serve-harness", root, confinement] : [join(dist, "cli/main.js"), "serve", "--root", root, "--allow", "true"];
  if (confinement === "none" && !harness) {
    const policy = join(root, "..", `warden-bench-policy-${process.pid}.json`);
    writeFileSync(policy, JSON.stringify({ commands: { allow: [] }, execution: { confinement: "none" } }));
    args.push("--policy", policy);
  }
  const transport = new StdioClientTransport({ command: process.execPath, args, stderr: "ignore", env: { ...process.env } });
  const client = new Client({ name: "warden-bench", version: "1" });
  await client.connect(transport);
  try {
    const { tools } = await client.listTools();
    if (!tools.some((t) => t.name === "execute_command")) {
      await client.close();
      return null;
    }
    const call = async () => {
      const r = await client.callTool({ name: "execute_command", arguments: { command: "true" } });
      if (r.isError) throw new Error(`execute_command failed: ${JSON.stringify(r.content)}`);
    };
    await call();
    closers.push(() => client.close());
    return call;
  } catch (err) {
    await client.close();
    throw err;
  }
}

/** The bridge in this process (normalize -> decide -> dispatch -> audit), no MCP. */
async function viaBridge(confinement) {
  const { createExecServices } = await load("exec/services.js");
  const { parsePolicy } = await load("config/load-policy.js");
  const policy = parsePolicy({ execution: { confinement } });
  const services = createExecServices({ policy, audit: { record: async () => {}, close: async () => {} }, roots: async () => [{ path: root, writable: true }], extraAllowed: ["true"] });
  const call = async () => {
    const r = await services.commands.execute({ command: "true" });
    if (!r.allowed || r.result?.exit_code !== 0) throw new Error(`bridge: ${r.rule} ${r.reason} ${r.result?.error ?? ""}`);
  };
  await call();
  closers.push(() => services.close());
  return { call };
}

for (const confinement of ["bubblewrap", "none"]) {
  let call = null;
  try {
    call = await viaMcp(confinement);
    if (!call) console.error("the server does not offer execute_command yet; measuring the bridge directly");
  } catch (err) {
    console.error(`MCP server not usable (${err.message.split("\n")[0]}); measuring the bridge directly`);
  }
  if (call) cases.push({ name: `execute_command over MCP stdio (warden serve), confinement ${confinement}`, fn: call });
  else {
    const harness = await viaMcp(confinement, true);
    cases.push({ name: `execute_command over MCP stdio (bench harness server: warden serve lacks the tool), confinement ${confinement}`, fn: harness });
  }
  // The same call without MCP and the server process: splits protocol cost from execution cost.
  const b = await viaBridge(confinement);
  cases.push({ name: `bridge.execute in this process (no MCP), confinement ${confinement}`, fn: b.call });
}
const rows = await measureAll(cases, { n: N, warmup: WARMUP, rotate: true });
for (const close of closers) await close();
rmSync(root, { recursive: true, force: true });

const base = rows[0].median;
console.log(`node ${process.version}, ${N} rounds (cases interleaved) after ${WARMUP} warm-up rounds, load average ${(await import("node:os")).loadavg()[0].toFixed(2)}, times in ms\n`);
console.log("   p10  median     p90  x plain  overhead  case");
for (const r of rows) {
  console.log(`${r.p10.toFixed(2).padStart(6)}  ${r.median.toFixed(2).padStart(6)}  ${r.p90.toFixed(2).padStart(6)}  ${(r.median / base).toFixed(2).padStart(6)}x  ${(r.median - base).toFixed(2).padStart(7)}  ${r.name}`);
}
const withBwrap = rows.find((r) => /MCP stdio.*confinement bubblewrap/.test(r.name));
if (withBwrap) {
  const overhead = withBwrap.median - base;
  console.log(`\ngoal: median overhead of the whole tool call with bubblewrap < 10 ms: ${overhead.toFixed(2)} ms -> ${overhead < 10 ? "met" : "NOT met"}`);
  console.log(`(of which bubblewrap itself: ${(rows[1].median - base).toFixed(2)} ms; overhead at p10: ${(withBwrap.p10 - rows[0].p10).toFixed(2)} ms)`);
}
}
