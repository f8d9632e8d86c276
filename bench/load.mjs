// Bounded loopback load on `warden serve --http`: CLIENTS MCP sessions over Streamable HTTP, each
// making CALLS mixed tool calls one after another (so CLIENTS calls in flight). Prints p50/p99 per
// tool, the error count (expected: 0), the server's peak memory, and the ratio against a named
// peer measured in the same run: a bare SDK McpServer over the same transport whose read_file is a
// plain fs.readFile (the floor cost of one MCP call over HTTP on this machine).
//
//   npm run build && node bench/load.mjs [--clients 50] [--calls 200] [--no-peer] [--no-commands] [--reads-only] [--peer-mix]
//
// --no-commands: the mix's execute_command calls become read_file and get_system_info (the pool's
// and the main thread's share without process spawning). --reads-only: every call is a read_file, the
// peer's own workload (the issue's goal keeps the mix: this variant shows the two servers on equal work). The CPU line splits the run's core time
// between the server (its own threads, and the processes it started and reaped) and this client.
// --peer-mix: a second peer, not the goal's, makes the same mix with plain Node and no checks at all
// (readFile, readdir + stat, a recursive walk with a RegExp per line, writeFile, os.*, and
// `/bin/sh -c` with no sandbox): what the mix itself costs on this machine, measured in the same run.
//
// Goal (issue 15): the file tools' p99 below the peer's p99 in the same run, 0 errors (the GOAL line). Exit 1 on any error.
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";

const REPO = join(dirname(fileURLToPath(import.meta.url)), "..");
// WARDEN_DIST=<a build's dist/>: measure another build (e.g. the previous release) the same way.
const CLI = join(process.env.WARDEN_DIST ?? join(REPO, "dist"), "cli", "main.js");
const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const CLIENTS = arg("clients", 50);
const CALLS = arg("calls", 200);
const PEER = !process.argv.includes("--no-peer");
const COMMANDS = !process.argv.includes("--no-commands");
const READS_ONLY = process.argv.includes("--reads-only");
const PEER_MIX = process.argv.includes("--peer-mix");
const FILE_TOOLS = new Set(["read_file", "write_file", "list_directory", "search_files"]);

// One cycle of 20 calls: the mix every client repeats.
const MIX = [
  "read_file", "list_directory", "read_file", "search_files", "read_file", "get_system_info", "write_file",
  "read_file", "list_directory", COMMANDS ? "execute_command" : "read_file", "read_file", "search_files", "read_file", "list_directory",
  "write_file", "read_file", "get_system_info", "read_file", "list_directory", COMMANDS ? "execute_command" : "get_system_info",
];

function argsFor(tool, client, i) {
  const f = `src/m${(client + i) % 10}/file${(client * 7 + i) % 20}.ts`;
  switch (tool) {
    case "read_file": return { path: f };
    case "list_directory": return { path: `src/m${i % 10}` };
    case "search_files": return { path: `src/m${client % 10}`, pattern: "**/*.ts", content: "export const v\\d+ = 1" };
    case "write_file": return { path: `out/c${client}/w${i % 5}.txt`, content: `client ${client} call ${i}\n`, create_dirs: true };
    case "execute_command": return { command: "echo load" };
    default: return {};
  }
}

function makeTree() {
  const root = realpathSync(mkdtempSync(join(tmpdir(), "warden-load-")));
  for (let m = 0; m < 10; m++) {
    mkdirSync(join(root, "src", `m${m}`), { recursive: true });
    for (let f = 0; f < 20; f++) {
      const lines = Array.from({ length: 80 }, (_, k) => `export const v${k} = ${k % 3 === 0 ? 1 : k}; // module ${m} file ${f}`);
      writeFileSync(join(root, "src", `m${m}`, `file${f}.ts`), lines.join("\n") + "\n");
    }
  }
  mkdirSync(join(root, "out"));
  return root;
}

/** Starts a server child process and resolves with its URL (read from its stderr log line). */
function startServer(command, args, env, pattern) {
  const child = spawn(command, args, { cwd: REPO, env: { ...process.env, ...env }, stdio: ["ignore", "ignore", "pipe"] });
  let err = "";
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${err}`)), 30_000);
    child.stderr.on("data", (d) => {
      err += d;
      const m = pattern.exec(err);
      if (m) {
        clearTimeout(timer);
        resolve({ child, url: m[1], stderr: () => err });
      }
    });
    child.on("exit", (code) => reject(new Error(`server exited with ${code}:\n${err}`)));
  });
}

/**
 * CPU seconds of a process (/proc/<pid>/stat): all its threads, its main thread alone (user and
 * system), and its children it has reaped.
 */
function cpuSeconds(pid) {
  const read = (path) => readFileSync(path, "utf8").split(") ")[1].split(" ").map((x) => Number(x) / 100); // USER_HZ
  try {
    const all = read(`/proc/${pid}/stat`);
    const main = read(`/proc/${pid}/task/${pid}/stat`);
    return { self: all[11] + all[12], children: all[13] + all[14], mainUser: main[11], mainSystem: main[12] };
  } catch {
    return { self: NaN, children: NaN, mainUser: NaN, mainSystem: NaN };
  }
}

/**
 * CPU seconds of each thread of a process, as name/tid (/proc/<pid>/task/<tid>/{comm,stat}; Node 20
 * names every thread "node": the tids tell V8's and libuv's early threads from the pool's workers).
 */
function threadSeconds(pid) {
  const out = new Map();
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      try {
        const name = readFileSync(`/proc/${pid}/task/${tid}/comm`, "utf8").trim();
        const f = readFileSync(`/proc/${pid}/task/${tid}/stat`, "utf8").split(") ")[1].split(" ").map(Number);
        const key = tid === String(pid) ? "main thread" : `${name}/${tid}`;
        out.set(key, (out.get(key) ?? 0) + (f[11] + f[12]) / 100);
      } catch {
        // the thread ended
      }
    }
  } catch {
    // the process ended
  }
  return out;
}

/** Peak resident memory of a process (Linux VmHWM), in MiB. */
function peakRssMiB(pid) {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) / 1024 : NaN;
  } catch {
    return NaN;
  }
}

async function connect(url) {
  const client = new Client({ name: "warden-load", version: "1.0.0" });
  const transport = new StreamableHTTPClientTransport(new URL(`${url}/mcp`));
  await client.connect(transport);
  return { client, transport };
}

async function runLoad(url, clients, calls, pickTool) {
  const sessions = [];
  for (let i = 0; i < clients; i += 10) {
    sessions.push(...(await Promise.all(Array.from({ length: Math.min(10, clients - i) }, () => connect(url)))));
  }
  const samples = new Map();
  const errors = [];
  const started = performance.now();
  await Promise.all(
    sessions.map(async ({ client }, c) => {
      for (let i = 0; i < calls; i++) {
        const tool = pickTool(c, i);
        const t0 = performance.now();
        try {
          const r = await client.callTool({ name: tool, arguments: argsFor(tool, c, i) });
          if (r.isError) errors.push(`${tool}: ${r.content?.[0]?.text}`);
        } catch (err) {
          errors.push(`${tool}: ${err.message}`);
        }
        const ms = performance.now() - t0;
        if (!samples.has(tool)) samples.set(tool, []);
        samples.get(tool).push(ms);
      }
    }),
  );
  const wallMs = performance.now() - started;
  await Promise.all(sessions.map(async ({ client, transport }) => {
    await transport.terminateSession().catch(() => {});
    await client.close();
  }));
  return { samples, errors, wallMs };
}

const pct = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
function stats(values) {
  const s = [...values].sort((a, b) => a - b);
  return { n: s.length, p50: pct(s, 50), p99: pct(s, 99), max: s[s.length - 1] };
}
const f1 = (x) => x.toFixed(1).padStart(7);

async function main() {
  try {
    readFileSync(CLI);
  } catch {
    console.error(`${CLI} is missing: run \`npm run build\` first`);
    process.exit(1);
  }
  const root = makeTree();
  const policy = join(root, "..", `${root.split("/").pop()}-policy.json`);
  // 50 clients in flight: let every command run (the default of 4 at once refuses the rest with execution.busy).
  writeFileSync(policy, JSON.stringify({ commands: { allow: [{ program: "echo" }] }, execution: { max_concurrent_commands: 64 } }));
  // WARDEN_SERVER_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof": node options of the server only (profiles).
  const nodeArgs = (process.env.WARDEN_SERVER_NODE_ARGS ?? "").split(" ").filter(Boolean);
  const warden = await startServer(process.execPath, [...nodeArgs, CLI, "serve", "--http", "--port", "0", "--root", root, "--policy", policy], { WARDEN_TOKEN: "" }, /on (http:\/\/\S+)\/mcp/);
  let result;
  let peak = NaN;
  let cpu = null;
  const clientCpu0 = process.cpuUsage();
  try {
    const before = cpuSeconds(warden.child.pid);
    const threadsBefore = threadSeconds(warden.child.pid);
    result = await runLoad(warden.url, CLIENTS, CALLS, (c, i) => (READS_ONLY ? "read_file" : MIX[(c + i) % MIX.length]));
    const after = cpuSeconds(warden.child.pid);
    const threads = [...threadSeconds(warden.child.pid)].map(([k, v]) => [k, v - (threadsBefore.get(k) ?? 0)]);
    const client = process.cpuUsage(clientCpu0);
    const d = (k) => after[k] - before[k];
    cpu = { threads, self: d("self"), children: d("children"), mainUser: d("mainUser"), mainSystem: d("mainSystem"), client: (client.user + client.system) / 1e6 };
  } finally {
    peak = peakRssMiB(warden.child.pid);
    warden.child.kill("SIGTERM");
  }

  const { samples, errors, wallMs } = result;
  const total = CLIENTS * CALLS;
  console.log(`mcp-warden HTTP load${READS_ONLY ? " (--reads-only: read_file only, not the issue's mix)" : ""}: ${CLIENTS} clients x ${CALLS} calls = ${total} calls, ${CLIENTS} in flight, ${(wallMs / 1000).toFixed(1)} s, ${Math.round(total / (wallMs / 1000))} calls/s`);
  console.log(`${"tool".padEnd(18)}${"n".padStart(7)}${"p50 ms".padStart(9)}${"p99 ms".padStart(9)}${"max ms".padStart(9)}`);
  const fileTimes = [];
  for (const [tool, values] of [...samples].sort()) {
    const s = stats(values);
    if (FILE_TOOLS.has(tool)) fileTimes.push(...values);
    console.log(`${tool.padEnd(18)}${String(s.n).padStart(7)}  ${f1(s.p50)}  ${f1(s.p99)}  ${f1(s.max)}`);
  }
  const all = stats([...samples.values()].flat());
  const files = stats(fileTimes);
  console.log(`${"all".padEnd(18)}${String(all.n).padStart(7)}  ${f1(all.p50)}  ${f1(all.p99)}  ${f1(all.max)}`);
  console.log(`${"file tools".padEnd(18)}${String(files.n).padStart(7)}  ${f1(files.p50)}  ${f1(files.p99)}  ${f1(files.max)}`);
  console.log(`errors: ${errors.length}`);
  const kinds = new Map();
  for (const e of errors) {
    const k = e.slice(0, 160);
    kinds.set(k, (kinds.get(k) ?? 0) + 1);
  }
  for (const [k, n] of [...kinds].sort((a, b) => b[1] - a[1]).slice(0, 5)) console.log(`  ${n} x ${k}`);
  console.log(`server peak memory (VmHWM): ${peak.toFixed(0)} MiB`);
  if (cpu) {
    const cores = (x) => `${x.toFixed(1)} s (${(x / (wallMs / 1000)).toFixed(2)} cores)`;
    console.log(`cpu over ${(wallMs / 1000).toFixed(1)} s: server threads ${cores(cpu.self)}, its reaped processes ${cores(cpu.children)}, this client ${cores(cpu.client)}`);
    console.log(`  server main thread ${cores(cpu.mainUser + cpu.mainSystem)}: user ${cpu.mainUser.toFixed(1)} s, system ${cpu.mainSystem.toFixed(1)} s`);
    console.log(`  server threads by name: ${cpu.threads.sort((a, b) => b[1] - a[1]).slice(0, 8).map(([k, v]) => `${k} ${v.toFixed(1)} s`).join(", ")}`);
  }

  if (PEER) {
    const peer = await startServer(process.execPath, ["--input-type=module", "-e", PEER_SERVER, root], {}, /peer on (http:\/\/\S+)\/mcp/);
    let peerResult;
    let peerPeak = NaN;
    let peerCpu = NaN;
    try {
      const before = cpuSeconds(peer.child.pid).self;
      peerResult = await runLoad(peer.url, CLIENTS, Math.max(1, Math.round(CALLS / 2)), () => "read_file");
      peerCpu = cpuSeconds(peer.child.pid).self - before;
    } finally {
      peerPeak = peakRssMiB(peer.child.pid);
      peer.child.kill("SIGTERM");
    }
    const p = stats(peerResult.samples.get("read_file"));
    const w = stats(samples.get("read_file"));
    console.log(
      `peer "SDK McpServer + fs.readFile" (same transport, read_file only, ${p.n} calls): p50 ${p.p50.toFixed(1)} ms, p99 ${p.p99.toFixed(1)} ms, peak ${peerPeak.toFixed(0)} MiB, errors ${peerResult.errors.length}`,
    );
    const perCall = (x, n) => `${((x / n) * 1000).toFixed(2)} ms`;
    if (cpu) console.log(`server cpu per call: warden ${perCall(cpu.self + cpu.children, total)} (mix), peer ${perCall(peerCpu, p.n)} (read_file); peer ${Math.round(p.n / (peerResult.wallMs / 1000))} calls/s`);
    console.log(`read_file ratio warden/peer: p50 ${(w.p50 / p.p50).toFixed(2)}x, p99 ${(w.p99 / p.p99).toFixed(2)}x (warden runs each read in a confined WASI module)`);
    // Issue 15's goal: the file tools' p99 below the peer's p99 in the same run, and no errors.
    const met = files.p99 < p.p99 && errors.length === 0 && peerResult.errors.length === 0;
    console.log(`${READS_ONLY ? "reads only (not the goal's mix): " : "GOAL load "}${met ? "met" : "MISSED"} file-tool p99 ${files.p99.toFixed(1)} ms vs peer p99 ${p.p99.toFixed(1)} ms, ${errors.length} errors`);
  }
  if (PEER_MIX && !READS_ONLY) {
    // The same mix, the same calls a client, against plain Node doing each tool's work unchecked.
    const peer = await startServer(process.execPath, ["--input-type=module", "-e", PEER_SERVER, root, "mix"], {}, /peer on (http:\/\/\S+)\/mcp/);
    let mixResult;
    let mixCpu = NaN;
    try {
      const before = cpuSeconds(peer.child.pid);
      mixResult = await runLoad(peer.url, CLIENTS, CALLS, (c, i) => MIX[(c + i) % MIX.length]);
      const after = cpuSeconds(peer.child.pid);
      mixCpu = after.self - before.self + after.children - before.children;
    } finally {
      peer.child.kill("SIGTERM");
    }
    const peerFiles = stats([...mixResult.samples].filter(([tool]) => FILE_TOOLS.has(tool)).flatMap(([, v]) => v));
    const n = [...mixResult.samples.values()].reduce((a, v) => a + v.length, 0);
    console.log(
      `peer-mix "SDK McpServer + plain Node, no checks, sh -c unsandboxed" (the same mix, not the goal's peer): ${Math.round(n / (mixResult.wallMs / 1000))} calls/s, ` +
        `file-tool p50 ${peerFiles.p50.toFixed(1)} ms, p99 ${peerFiles.p99.toFixed(1)} ms, cpu per call ${((mixCpu / n) * 1000).toFixed(2)} ms, errors ${mixResult.errors.length}`,
    );
    for (const e of mixResult.errors.slice(0, 3)) console.log(`  peer-mix error: ${e.slice(0, 160)}`);
    console.log(`file-tool p99 warden / peer-mix: ${(files.p99 / peerFiles.p99).toFixed(2)}x`);
  }
  rmSync(root, { recursive: true, force: true });
  rmSync(policy, { force: true });
  process.exit(errors.length ? 1 : 0);
}

// The peer: the SDK's own server, stateful sessions, one McpServer per session, no checks at all.
// With "mix" (--peer-mix) it also serves the mix's other tools, each with plain Node and no checks.
const PEER_SERVER = `
import { createServer } from "node:http";
import { randomUUID } from "node:crypto";
import { execFile } from "node:child_process";
import { mkdir, readdir, readFile, stat, writeFile } from "node:fs/promises";
import { cpus, freemem, hostname, platform, totalmem } from "node:os";
import { dirname, join } from "node:path";
import { z } from "zod";
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
const root = process.argv[1];
const mix = process.argv[2] === "mix";
const text = (t) => ({ content: [{ type: "text", text: t }] });
async function search(dir, glob, re, out) {
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) await search(p, glob, re, out);
    else if (e.isFile() && glob.test(e.name)) (await readFile(p, "utf8")).split("\\n").forEach((l, i) => re.test(l) && out.push(p + ":" + (i + 1) + ": " + l));
  }
  return out;
}
function register(server) {
  server.registerTool("read_file", { inputSchema: { path: z.string() } }, async ({ path }) => text(await readFile(join(root, path), "utf8")));
  if (!mix) return;
  server.registerTool("list_directory", { inputSchema: { path: z.string() } }, async ({ path }) => {
    const dir = join(root, path);
    const entries = await readdir(dir, { withFileTypes: true });
    const sizes = await Promise.all(entries.map((e) => stat(join(dir, e.name)).then((s) => s.size)));
    return text(entries.map((e, i) => (e.isDirectory() ? "[DIR] " : "[FILE] ") + e.name + " " + sizes[i]).join("\\n"));
  });
  server.registerTool("search_files", { inputSchema: { path: z.string(), pattern: z.string(), content: z.string() } }, async ({ path, content }) =>
    text((await search(join(root, path), /\\.ts$/, new RegExp(content), [])).join("\\n")));
  server.registerTool("write_file", { inputSchema: { path: z.string(), content: z.string(), create_dirs: z.boolean().optional() } }, async ({ path, content }) => {
    await mkdir(dirname(join(root, path)), { recursive: true });
    await writeFile(join(root, path), content);
    return text("wrote " + path);
  });
  server.registerTool("get_system_info", { inputSchema: {} }, async () => text(JSON.stringify({ platform: platform(), hostname: hostname(), cpus: cpus().length, totalmem: totalmem(), freemem: freemem() })));
  server.registerTool("execute_command", { inputSchema: { command: z.string() } }, ({ command }) =>
    new Promise((resolve) => execFile("/bin/sh", ["-c", command], { cwd: root }, (err, stdout, stderr) => resolve(text(stdout + stderr + (err ? String(err) : ""))))));
}
const sessions = new Map();
const http = createServer(async (req, res) => {
  const chunks = [];
  for await (const c of req) chunks.push(c);
  const body = chunks.length ? JSON.parse(Buffer.concat(chunks).toString()) : undefined;
  const sid = req.headers["mcp-session-id"];
  let t = sid && sessions.get(sid);
  if (!t) {
    const server = new McpServer({ name: "peer", version: "1" });
    register(server);
    t = new StreamableHTTPServerTransport({ sessionIdGenerator: randomUUID, onsessioninitialized: (id) => sessions.set(id, t) });
    t.onclose = () => sessions.delete(t.sessionId);
    await server.connect(t);
  }
  await t.handleRequest(req, res, body);
});
http.listen(0, "127.0.0.1", () => process.stderr.write("peer on http://127.0.0.1:" + http.address().port + "/mcp\\n"));
`;

await main();
