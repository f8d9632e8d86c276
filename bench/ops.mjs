// Operations overhead: a small tool call (read_file of a 1 KiB file over MCP Streamable HTTP, audit
// log on) on a server with 10 dashboards reading the live audit stream (SSE) and Prometheus
// scraping /metrics every second, against the same server with nobody watching, in the same run
// (round-robin, so other load hits both alike). Also the cost of one metrics update on its own.
// Not a test: nothing here asserts a time.
//   npm run build && node bench/ops.mjs [--iterations N] [--readers N]
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { buildDeps } from "../dist/server/deps.js";
import { startHttpServer } from "../dist/server/http/index.js";
import { measureAll } from "./lib/measure.mjs";

const arg = (name, dflt) => Number(process.argv[process.argv.indexOf(name) + 1]) || dflt;
const ITER = arg("--iterations", 400);
const READERS = arg("--readers", 10);

async function server(label) {
  const dir = mkdtempSync(join(tmpdir(), `warden-bench-ops-${label}-`));
  const root = join(dir, "root");
  const etc = join(dir, "etc");
  for (const d of [root, etc]) mkdirSync(d);
  writeFileSync(join(root, "small.txt"), "x".repeat(1024));
  writeFileSync(join(etc, "policy.json"), JSON.stringify({ commands: { allow: [{ program: "true" }] } }));
  const deps = await buildDeps({ roots: [root], readOnly: [], allow: [], policyPath: join(etc, "policy.json"), auditLog: join(etc, "audit.jsonl"), privileged: false, cwd: root, env: { ...process.env, WARDEN_TOKEN: "" }, log: () => {} });
  const http = await startHttpServer(deps, { host: "127.0.0.1", port: 0 });
  const client = new Client({ name: "bench-ops", version: "1" });
  await client.connect(new StreamableHTTPClientTransport(new URL(`${http.url}/mcp`)));
  return {
    deps,
    url: http.url,
    call: () => client.callTool({ name: "read_file", arguments: { path: "small.txt" } }),
    async close() {
      await client.close();
      await http.close();
      await deps.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A dashboard's stream: read and count every event, as the page would. */
function reader(url) {
  const u = new URL(url);
  let events = 0;
  const req = request({ host: u.hostname, port: u.port, path: "/api/v1/audit/stream" }, (res) => res.on("data", (c) => (events += c.toString().split("\nevent: record\n").length - 1)));
  req.end();
  return { stop: () => req.destroy(), events: () => events };
}

const quiet = await server("quiet");
const watched = await server("watched");
const readers = Array.from({ length: READERS }, () => reader(watched.url));
const scrape = setInterval(() => request(`${watched.url}/metrics`, (res) => res.resume()).end(), 1000);
await new Promise((r) => setTimeout(r, 300));

const [a, b] = await measureAll(
  [
    { name: "no dashboards", fn: quiet.call },
    { name: `${READERS} dashboards + scrape`, fn: watched.call },
  ],
  { n: ITER, warmup: 30, rotate: true },
);
clearInterval(scrape);
const delivered = readers.map((r) => r.events());
readers.forEach((r) => r.stop());

// One metrics update alone (what every call adds even with nobody watching).
const m = quiet.deps.ops.metrics;
const N = 200_000;
let t = performance.now();
for (let i = 0; i < N; i++) m.observeCall({ tool: "read_file", decision: "allow", rule: "allow", duration_ms: 1 });
const observeUs = ((performance.now() - t) * 1000) / N;

console.log(`machine: ${cpus().length} cores, load ${loadavg().map((l) => l.toFixed(2)).join(" ")}; ${ITER} calls each, round-robin`);
for (const r of [a, b]) console.log(`${r.name.padEnd(28)} median ${r.median.toFixed(3)} ms  p10 ${r.p10.toFixed(3)}  p90 ${r.p90.toFixed(3)}`);
console.log(`ratio watched/quiet (median): ${(b.median / a.median).toFixed(3)}  (overhead ${((b.median / a.median - 1) * 100).toFixed(1)}%, goal < 3%)`);
console.log(`events delivered per reader: min ${Math.min(...delivered)} max ${Math.max(...delivered)} (each call is one record)`);
console.log(`metrics update alone: ${observeUs.toFixed(2)} µs per call = ${((observeUs / 1000 / a.median) * 100).toFixed(2)}% of the quiet median`);
await quiet.close();
await watched.close();
process.exit(0);
