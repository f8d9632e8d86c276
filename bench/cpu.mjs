// Server CPU per call over stdio, one client calling one tool back to back: mcp-warden against the
// official MCP filesystem server (same SDK client, same files, same run), optionally against an
// earlier build of mcp-warden too. Wall time a call is printed beside it. Not a goal of issue 15 (those
// are wall times, bench/fs.mjs); this shows what each call costs the server's cores, which is what
// many clients at once (bench/load.mjs) run out of. Nothing here asserts a time.
//
//   npm run build && node bench/cpu.mjs [--calls 2000] [--rounds 8] [--baseline DIR-with-dist]
//
// Each round runs `--calls` calls on every server in turn (the order reversed every other round);
// the first two rounds are warm-up (the servers' JIT) and left out of the means.
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { processCpuMs } from "./lib/measure.mjs";

const REPO = join(import.meta.dirname, "..");
const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : fallback;
};
const CALLS = Number(arg("calls", 2000));
const ROUNDS = Number(arg("rounds", 8));
const WARMUP_ROUNDS = 2;
const BASELINE = arg("baseline", null);

const dir = join(REPO, ".bench-cache", "cpu");
mkdirSync(join(dir, "list"), { recursive: true });
const line = "The quick brown fox jumps over the lazy dog; pthread_mutex_lock appears here too.\n";
writeFileSync(join(dir, "4k.txt"), line.repeat(Math.ceil(4096 / line.length)).slice(0, 4096));
for (let i = 0; i < 100; i++) writeFileSync(join(dir, "list", `file-${i}.txt`), "x".repeat((i * 37) % 5000));

async function connect(name, command, args) {
  const transport = new StdioClientTransport({ command, args, stderr: "ignore" });
  const client = new Client({ name: "bench-cpu", version: "1" });
  await client.connect(transport);
  return { name, client, pid: transport.pid };
}

const official = join(REPO, "node_modules/@modelcontextprotocol/server-filesystem/dist/index.js");
const servers = [await connect("mcp-warden", process.execPath, [join(REPO, "dist/cli/main.js"), "serve", "--root", dir])];
if (BASELINE) servers.push(await connect(`baseline (${BASELINE})`, process.execPath, [join(BASELINE, "dist/cli/main.js"), "serve", "--root", dir]));
servers.push(await connect("official server", process.execPath, [official, dir]));

const CASES = [
  { what: "read_file 4 KB", ours: ["read_file", { path: join(dir, "4k.txt") }], peer: ["read_text_file", { path: join(dir, "4k.txt") }] },
  { what: "list_directory 100 entries with sizes", ours: ["list_directory", { path: join(dir, "list") }], peer: ["list_directory_with_sizes", { path: join(dir, "list") }] },
];

console.log(`server CPU per call, stdio, one client; ${ROUNDS - WARMUP_ROUNDS} rounds x ${CALLS} calls a server (after ${WARMUP_ROUNDS} warm-up rounds), alternated`);
for (const c of CASES) {
  const totals = new Map(servers.map((s) => [s.name, { cpu: 0, wall: 0, n: 0 }]));
  for (let r = 0; r < ROUNDS; r++) {
    for (const s of r % 2 ? [...servers].reverse() : servers) {
      const [tool, args] = s.name === "official server" ? c.peer : c.ours;
      const c0 = processCpuMs(s.pid);
      const t0 = performance.now();
      for (let i = 0; i < CALLS; i++) {
        const res = await s.client.callTool({ name: tool, arguments: args });
        if (res.isError) throw new Error(`${s.name} ${tool}: ${JSON.stringify(res.content).slice(0, 200)}`);
      }
      if (r < WARMUP_ROUNDS) continue;
      const t = totals.get(s.name);
      t.cpu += (processCpuMs(s.pid) - c0) / CALLS;
      t.wall += (performance.now() - t0) / CALLS;
      t.n++;
    }
  }
  const peer = totals.get("official server");
  console.log(`\n${c.what}`);
  for (const [name, t] of totals) {
    const cpu = t.cpu / t.n;
    const ratio = name === "official server" ? "" : `  ${(cpu / (peer.cpu / peer.n)).toFixed(2)}x the official server's CPU`;
    console.log(`  ${name.padEnd(28)} cpu ${cpu.toFixed(3)} ms, wall ${(t.wall / t.n).toFixed(3)} ms a call${ratio}`);
  }
}
for (const s of servers) await s.client.close();
