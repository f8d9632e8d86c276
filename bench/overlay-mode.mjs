#!/usr/bin/env node
// serve --overlay against normal mode, measured in the same run: three real servers (`warden serve`
// over stdio, real bubblewrap) on copies of one tree, one plain, one with every root a copy-on-write
// workspace's merged view made by kernel overlayfs and one made by fuse-overlayfs
// (`--overlay-driver fuse`). Each tool call is timed end to end from the MCP client, round-robin, so
// machine load hits all alike; printed: medians, p90, and each view minus normal (commands; issue
// 12's goal: under 5 ms more) and each view / normal (file tools; goal: under +10%).
// FUSE=0 leaves the fuse server out (a machine without fuse-overlayfs); COPY=0 the copy driver's
// (`--overlay-driver copy`: a copy of the tree bound over its path).
// PAUSE_MS=50: an idle pause before each call, as between an agent's calls (a server's work after a
// reply, such as making the next command's launcher, then lands in it, not on the next call).
// Run after `npm run build`:  node bench/overlay-mode.mjs   (N=200 node bench/overlay-mode.mjs for more)
import { cpSync, mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { measureAll } from "./lib/measure.mjs";

const N = Number(process.env.N ?? 100);
const WARMUP = 10;
/** PAUSE_MS=50: an idle pause before each call, as an agent leaves between calls (default: back to back). */
const PAUSE_MS = Number(process.env.PAUSE_MS ?? 0);
const cli = fileURLToPath(new URL("../dist/cli/main.js", import.meta.url));
// Under the repository's .bench-cache (git-ignored), not /tmp: other suites sweep /tmp/warden-*.
const cache = fileURLToPath(new URL("../.bench-cache/", import.meta.url));
mkdirSync(cache, { recursive: true });
const base = realpathSync(mkdtempSync(join(cache, "overlay-")));

/** A small source tree: 20 directories of 25 files each, one 64 KiB file. */
function makeTree(root) {
  for (let d = 0; d < 20; d++) {
    mkdirSync(join(root, `src${d}`), { recursive: true });
    for (let f = 0; f < 25; f++) writeFileSync(join(root, `src${d}`, `f${f}.c`), `int f${f}(void) { return ${f}; } /* ${"x".repeat(f * 7)} */\n`);
  }
  writeFileSync(join(root, "big.txt"), "0123456789abcdef".repeat(4096));
}

async function connect(args) {
  const transport = new StdioClientTransport({ command: process.execPath, args: [cli, "serve", ...args], stderr: "ignore", env: { ...process.env } });
  const client = new Client({ name: "warden-bench", version: "1" });
  await client.connect(transport);
  return client;
}

const closers = [];
try {
  const normalRoot = join(base, "normal");
  makeTree(normalRoot);
  const overlayRoot = join(base, "overlay");
  cpSync(normalRoot, overlayRoot, { recursive: true });
  const servers = {
    normal: await connect(["--root", normalRoot, "--allow", "true"]),
    overlay: await connect(["--root", overlayRoot, "--allow", "true", "--overlay", "--overlay-driver", "kernel", "--state-dir", join(base, "state"), "--workspace", "bench"]),
  };
  if (process.env.FUSE !== "0") {
    const fuseRoot = join(base, "fuse");
    cpSync(normalRoot, fuseRoot, { recursive: true });
    servers.fuse = await connect(["--root", fuseRoot, "--allow", "true", "--overlay", "--overlay-driver", "fuse", "--state-dir", join(base, "state"), "--workspace", "bench-fuse"]);
  }
  if (process.env.COPY !== "0") {
    const copyRoot = join(base, "copy");
    cpSync(normalRoot, copyRoot, { recursive: true });
    servers.copy = await connect(["--root", copyRoot, "--allow", "true", "--overlay", "--overlay-driver", "copy", "--state-dir", join(base, "state"), "--workspace", "bench-copy"]);
  }
  for (const c of Object.values(servers)) closers.push(() => c.close());
  for (const [mode, driver] of [["overlay", "kernel"], ["fuse", "fuse"], ["copy", "copy"]]) {
    if (!servers[mode]) continue;
    const info = await servers[mode].callTool({ name: "get_system_info", arguments: {} });
    if (info.structuredContent?.workspace?.driver !== driver) throw new Error(`the ${mode} server is not on the ${driver} driver`);
  }
  const views = Object.keys(servers).filter((m) => m !== "normal");

  const calls = {
    "execute_command true": () => ({ name: "execute_command", arguments: { command: "true" } }),
    "read_file 100 B": () => ({ name: "read_file", arguments: { path: "src3/f4.c" } }),
    "read_file 64 KiB": () => ({ name: "read_file", arguments: { path: "big.txt" } }),
    "list_directory depth 2": () => ({ name: "list_directory", arguments: { path: ".", depth: 2 } }),
    "search_files content, 500 files": () => ({ name: "search_files", arguments: { path: ".", content: "return 17" } }),
    "write_file 1 KiB": () => ({ name: "write_file", arguments: { path: "out/w.txt", content: "w".repeat(1024), create_dirs: true } }),
  };
  const cases = [];
  for (const [label, make] of Object.entries(calls)) {
    for (const mode of Object.keys(servers)) {
      cases.push({
        name: `${label} | ${mode}`,
        fn: async () => {
          const r = await servers[mode].callTool(make());
          if (r.isError) throw new Error(`${label} (${mode}) failed: ${JSON.stringify(r.content).slice(0, 300)}`);
        },
      });
    }
  }
  const results = await measureAll(cases, { n: N, warmup: WARMUP, pauseMs: PAUSE_MS, rotate: true });
  const by = Object.fromEntries(results.map((r) => [r.name, r]));
  console.log(`serve --overlay (overlay: kernel driver; fuse: fuse driver; copy: copy driver) vs normal mode, whole MCP tool calls over stdio, median of ${N} round-robin rounds (ms)${PAUSE_MS > 0 ? `, ${PAUSE_MS} ms idle before each call` : ", calls back to back"}`);
  console.log("paired: the median over rounds of (view - normal) and of (view / normal) within one round, which load that drifts between rounds does not move");
  const f = (x, w) => x.toFixed(2).padStart(w);
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  console.log(
    `${"call".padEnd(34)}${"normal".padStart(9)}${"p90".padStart(8)}${views.map((v) => `${v.padStart(10)}${"p90".padStart(8)}${`${v}-normal`.padStart(16)}${`${v}/normal`.padStart(16)}${"paired -".padStart(10)}${"paired /".padStart(10)}`).join("")}`,
  );
  for (const label of Object.keys(calls)) {
    const n = by[`${label} | normal`];
    const cols = views.map((v) => {
      const o = by[`${label} | ${v}`];
      const diff = median(o.rounds.map((t, i) => t - n.rounds[i]));
      const ratio = median(o.rounds.map((t, i) => t / n.rounds[i]));
      return `${f(o.median, 10)}${f(o.p90, 8)}${f(o.median - n.median, 16)}${(o.median / n.median).toFixed(3).padStart(15)}x${f(diff, 10)}${ratio.toFixed(3).padStart(9)}x`;
    });
    console.log(`${label.padEnd(34)}${f(n.median, 9)}${f(n.p90, 8)}${cols.join("")}`);
  }
} finally {
  for (const close of closers) await close().catch(() => undefined);
  rmSync(base, { recursive: true, force: true });
}
