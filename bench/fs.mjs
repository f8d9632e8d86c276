// File-tool benchmark: mcp-warden vs the official MCP filesystem server (same MCP client, same
// tree, same run) and ripgrep. Prints medians and ratios. Not a test: nothing here asserts a time.
//   npm run build && node bench/fs.mjs [--iterations N]
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { execFileSync, spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { cpus, loadavg, totalmem } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { measureAll } from "./lib/measure.mjs";

const REPO = join(import.meta.dirname, "..");
const CACHE = join(REPO, ".bench-cache");
const TREE = join(CACHE, "tree");
const ITER = Number(process.argv[process.argv.indexOf("--iterations") + 1]) || 25;
const SEARCH_ITER = Math.max(3, Math.round(ITER / 4));

function countFiles(dir) {
  let n = 0;
  for (const e of readdirSync(dir, { withFileTypes: true, recursive: true })) if (e.isFile()) n++;
  return n;
}

/** /usr/include plus node_modules packages until ~12k files: a C tree and a JS tree. */
function prepareTree() {
  if (existsSync(join(TREE, ".ready"))) return;
  mkdirSync(TREE, { recursive: true });
  cpSync("/usr/include", join(TREE, "include"), { recursive: true, dereference: false, verbatimSymlinks: true });
  let files = countFiles(join(TREE, "include"));
  const nm = join(REPO, "node_modules");
  for (const name of readdirSync(nm).sort()) {
    if (files >= 12_000) break;
    if (name.startsWith(".")) continue;
    const src = join(nm, name);
    const n = countFiles(src);
    if (files + n > 12_500) continue;
    cpSync(src, join(TREE, "node_modules", name), { recursive: true, verbatimSymlinks: true });
    files += n;
  }
  const line = "The quick brown fox jumps over the lazy dog; pthread_mutex_lock appears here too.\n";
  writeFileSync(join(TREE, "bench-4k.txt"), line.repeat(Math.ceil(4096 / line.length)).slice(0, 4096));
  writeFileSync(join(TREE, "bench-2m.txt"), line.repeat(Math.ceil((2 * 1024 * 1024) / line.length)).slice(0, 2 * 1024 * 1024));
  writeFileSync(join(TREE, ".ready"), String(files));
}

async function connect(command, args) {
  const client = new Client({ name: "bench", version: "1" });
  await client.connect(new StdioClientTransport({ command, args, stderr: "ignore" }));
  return client;
}

/** Medians of `ours` and `peer`, run alternately so both see the same machine (load changes by the second). */
async function timePair(n, ours, peer) {
  const [a, b] = await measureAll([{ name: "ours", fn: ours }, { name: "peer", fn: peer }], { n, warmup: 0 });
  return [a.median, b.median];
}

async function call(client, name, args) {
  const r = await client.callTool({ name, arguments: args }, undefined, { timeout: 600_000 });
  if (r.isError) throw new Error(`${name} failed: ${JSON.stringify(r.content).slice(0, 300)}`);
  return r;
}

prepareTree();
const fileCount = Number(execFileSync("cat", [join(TREE, ".ready")]).toString());
const policy = join(CACHE, "bench-policy.json");
writeFileSync(policy, JSON.stringify({ filesystem: { max_read_bytes: 3 * 1024 * 1024 } }));
const warden = await connect(process.execPath, [join(REPO, "dist/cli/main.js"), "serve", "--root", TREE, "--policy", policy]);
const official = await connect(process.execPath, [join(REPO, "node_modules/@modelcontextprotocol/server-filesystem/dist/index.js"), TREE]);
const rows = [];
/** `goal`: the smallest ratio (peer time / ours) the issue accepts for this row. */
const row = (what, ours, peer, peerName, goal, note = "") => rows.push({ what, ours, peer, peerName, ratio: peer / ours, goal, note });
const loadBefore = loadavg();

// Warm up both (JIT, module compile, page cache).
for (let i = 0; i < 3; i++) {
  await call(warden, "read_file", { path: join(TREE, "bench-4k.txt") });
  await call(official, "read_text_file", { path: join(TREE, "bench-4k.txt") });
}
await call(warden, "search_files", { path: TREE, content: "pthread_mutex_lock", max_results: 10000 });
spawnSync("rg", ["-uu", "-c", "x", TREE]);

// Diagnostic, not a goal: the same server with each sandbox run replayed from a recording, so the
// difference to mcp-warden is what the sandbox call (worker hop + fresh WASI instance) costs.
const replay = await connect(process.execPath, [join(REPO, "bench/lib/replay-sandbox-server.mjs"), TREE, policy]);
const notes = [];
for (const [label, file] of [["read_file 4 KB", "bench-4k.txt"], ["read_file 2 MB", "bench-2m.txt"]]) {
  const path = join(TREE, file);
  await call(replay, "read_file", { path });
  const [ours, peer, replayed] = (
    await measureAll(
      [
        { name: "ours", fn: () => call(warden, "read_file", { path }) },
        { name: "peer", fn: () => call(official, "read_text_file", { path }) },
        { name: "replay", fn: () => call(replay, "read_file", { path }) },
      ],
      { n: ITER, warmup: 0 },
    )
  ).map((r) => r.median);
  row(label, ours, peer, "official server", 1);
  notes.push(`${label}: mcp-warden with sandbox runs replayed ${replayed.toFixed(2)} ms, so the sandbox call costs ${(ours - replayed).toFixed(2)} ms of ${ours.toFixed(2)} ms`);
}
await replay.close();

const glob = "**/*.h";
const [ours, peer] = await timePair(
  SEARCH_ITER,
  () => call(warden, "search_files", { path: TREE, pattern: glob, max_results: 10000, gitignore: false }),
  () => call(official, "search_files", { path: TREE, pattern: glob }),
);
row(`name search ${glob}`, ours, peer, "official server", 2);

const rgVersion = spawnSync("rg", ["--version"]).stdout?.toString().split("\n")[0] ?? "rg missing";
// The read fixtures repeat `pthread_mutex_lock` on every line: both sides leave them out, so each
// content search walks the whole tree instead of stopping at max_results in bench-2m.txt.
for (const re of ["pthread_mutex_lock", "pthread_mutex_[a-z]+", "\\bmalloc\\s*\\(", "struct\\s+\\w+_ops\\b"]) {
  let found = 0;
  let rgLines = 0;
  const ours = async () => {
    const r = await call(warden, "search_files", { path: TREE, content: re, max_results: 10000, gitignore: false, exclude: "bench-*.txt" });
    found = r.structuredContent.matches.length;
  };
  const peer = async () => {
    const r = spawnSync("rg", ["-uu", "-n", "--no-heading", "-g", "!bench-*.txt", "-e", re, TREE], { maxBuffer: 256 * 1024 * 1024 });
    if (r.status !== 0 && r.status !== 1) throw new Error(`rg failed: ${r.stderr}`);
    rgLines = r.stdout.toString().split("\n").filter(Boolean).length;
  };
  const [oursMs, peerMs] = await timePair(SEARCH_ITER, ours, peer);
  row(`content search /${re}/`, oursMs, peerMs, "ripgrep (spawned)", 0.5, `${found} vs ${rgLines} lines`);
}

await warden.close();
await official.close();

const fmt = (ms) => `${ms.toFixed(2)} ms`;
console.log(`\nmcp-warden file-tool benchmark: ${new Date().toISOString().slice(0, 10)}, ${cpus().length} x ${cpus()[0]?.model?.trim()}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}`);
console.log(`tree: ${fileCount} files (/usr/include + node_modules packages); ${ITER} iterations for reads, ${SEARCH_ITER} for searches, each side alternately; medians; ${rgVersion}`);
const load = (l) => l.map((x) => x.toFixed(2)).join(" ");
console.log(`load average: ${load(loadBefore)} at the first measurement, ${load(loadavg())} at the end`);
console.log(`ratio = peer time / mcp-warden time (>1: mcp-warden faster); goal = the issue's minimum ratio\n`);
console.log(`| what | mcp-warden | peer | peer time | ratio | goal | |`);
console.log(`|---|---|---|---|---|---|---|`);
for (const r of rows) {
  const mark = r.ratio >= r.goal ? "PASS" : "MISS";
  console.log(`| ${r.what} | ${fmt(r.ours)} | ${r.peerName} | ${fmt(r.peer)} | ${r.ratio.toFixed(2)}x | >= ${r.goal}x | ${mark}${r.note ? ` (${r.note})` : ""} |`);
}
console.log("");
for (const n of notes) console.log(n);
const missed = rows.filter((r) => r.ratio < r.goal).length;
console.log(`\ngoals: ${rows.length - missed} of ${rows.length} met`);
