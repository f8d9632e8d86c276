#!/usr/bin/env node
// How long starting one launcher holds the event loop: the server's own fork (execa, as before the
// spawner) against native/spawner (src/exec/native/spawner.ts), interleaved in one process, at a
// few server sizes (BALLAST_MIB of touched memory, as a busy server's heap). For each start:
// the time the call itself blocks the loop (sync), the event loop's worst stall while it runs
// (a 1 ms timer's lateness), and the time until the process has exited.
// Run after `npm run build`:  node bench/spawn-loop.mjs   (N=100 SIZES=0,300 for other figures)
import { performance } from "node:perf_hooks";
import { spawnGroup } from "../dist/exec/native/spawn-group.js";
import { createSpawner } from "../dist/exec/native/spawner.js";

const N = Number(process.env.N ?? 60);
const SIZES = (process.env.SIZES ?? "0,300").split(",").map(Number);
const spawner = createSpawner();
if (!spawner) {
  console.error("native/build/spawner is not built (npm run build needs a C compiler)");
  process.exit(1);
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const p90 = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length * 0.9)];

/** One start of a launcher-like `/bin/sh -c 'read x'` fed one line, as zygote.ts does. */
async function once(via) {
  let worst = 0;
  let last = performance.now();
  const tick = setInterval(() => {
    const now = performance.now();
    worst = Math.max(worst, now - last - 1);
    last = now;
  }, 1);
  await new Promise((r) => setTimeout(r, 5));
  const t0 = performance.now();
  const pending = spawnGroup("/bin/sh", ["-c", "read x"], { env: {}, stdin: "pipe", extra: ["out", "out", "in"] }, via);
  const sync = performance.now() - t0;
  const { sub } = await pending;
  const exited = new Promise((r) => sub.on("exit", r));
  sub.stdin.end("x\n");
  await exited;
  const total = performance.now() - t0;
  await new Promise((r) => setTimeout(r, 5));
  clearInterval(tick);
  return { sync, worst, total };
}

const ballast = [];
for (const mib of SIZES) {
  while (ballast.length < mib) ballast.push(Buffer.alloc(1 << 20, 1));
  const rows = { server: [], spawner: [] };
  for (let i = 0; i < N + 5; i++) {
    const order = i % 2 ? ["server", "spawner"] : ["spawner", "server"];
    for (const name of order) {
      const r = await once(name === "spawner" ? spawner : null);
      if (i >= 5) rows[name].push(r);
    }
  }
  const rss = Math.round(process.memoryUsage().rss / 2 ** 20);
  for (const [name, rs] of Object.entries(rows)) {
    const f = (k) => `${median(rs.map((r) => r[k])).toFixed(2)} (p90 ${p90(rs.map((r) => r[k])).toFixed(2)})`;
    console.log(`rss ${rss} MiB, forked by the ${name.padEnd(7)}: loop blocked by the call ${f("sync")} ms, worst loop stall ${f("worst")} ms, start to exit ${f("total")} ms`);
  }
  const ratio = median(rows.server.map((r) => r.worst)) / Math.max(0.01, median(rows.spawner.map((r) => r.worst)));
  console.log(`rss ${rss} MiB: worst loop stall, server fork / spawner = ${ratio.toFixed(1)}x`);
}
spawner.close();
