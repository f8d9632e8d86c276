// The sandbox calls of the file tools in process, without MCP: this build against another build
// (`--baseline DIR`, a checkout with dist/ built), cases interleaved in one process so both see
// the same load. Prints medians and the ratio. Not a test: nothing here asserts a time.
//   npm run build && node bench/sandbox-calls.mjs --baseline DIR [--iterations N]
// Cases: a 600-entry listing with sizes and a 4 KB read (both on the main thread, as the tools ask),
// a 2 MB read (asked inline, answered by the pool), and a two-shard content search of the bench tree (worker pool). Needs the tree of bench/fs.mjs.
import { existsSync } from "node:fs";
import { loadavg } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";

const REPO = join(import.meta.dirname, "..");
const TREE = join(REPO, ".bench-cache", "tree");
const arg = (name) => (process.argv.includes(name) ? process.argv[process.argv.indexOf(name) + 1] : undefined);
const BASELINE = arg("--baseline");
const N = Number(arg("--iterations")) || 300;
if (!BASELINE || !existsSync(join(TREE, "bench-list", "file-599.txt"))) {
  console.error("usage: node bench/sandbox-calls.mjs --baseline DIR [--iterations N]  (run node bench/fs.mjs once first: it builds the tree)");
  process.exit(2);
}

const scope = { preopens: [{ hostPath: TREE, writable: true }], denyGlobs: ["**/.env", "**/*.pem", "**/id_rsa*"] };
const builds = [];
for (const [name, dir] of [["this build", REPO], [`baseline (${BASELINE})`, BASELINE]]) {
  const mod = await import(join(dir, "dist", "sandbox", "index.js"));
  // The loop-delay pause is off: this measures the calls, not the scheduler's view of this process.
  builds.push({ name, sandbox: mod.createSandbox({ mainThreadBusy: () => false }), claims: mod.newClaimTable });
}
const cases = {
  "list 600 entries with sizes (main thread)": (b) =>
    b.sandbox.run({ module: "list", args: ["--depth=1", "--max=10000", join(TREE, "bench-list")], scope, inline: true, deadlineMs: 10_000, maxStdoutBytes: 1 << 26 }),
  "read 4 KB (main thread)": (b) =>
    b.sandbox.run({ module: "read", args: ["--length=1048576", join(TREE, "bench-4k.txt")], scope, inline: true, deadlineMs: 10_000, maxStdoutBytes: (1 << 20) + 4096 }),
  // As read_file asks (inline, its cap, 3 MiB as bench/fs.mjs's policy): too large for the main thread, answered by the pool.
  "read 2 MB (inline asked, pool answers)": (b) =>
    b.sandbox.run({ module: "read", args: ["--length=3145728", join(TREE, "bench-2m.txt")], scope, inline: true, deadlineMs: 10_000, maxStdoutBytes: 3145728 + 4096 }),
  "content search /pthread_mutex_lock/ (2 shards, pool)": (b) => {
    const claims = b.claims();
    const args = (i) => [`--shard=${i}/2`, "--content=pthread_mutex_lock", "--max=10000", "--exclude=bench-*.txt", TREE];
    return Promise.all([0, 1].map((i) => b.sandbox.run({ module: "search", args: args(i), scope, claims, deadlineMs: 60_000, maxStdoutBytes: 1 << 26 })));
  },
};
const load0 = loadavg()[0];
console.log(`sandbox calls in process, medians (p10); ${N} rounds for list and read, ${Math.max(5, N / 30) | 0} for search; load ${load0.toFixed(2)} at the start`);
for (const [what, fn] of Object.entries(cases)) {
  const n = what.startsWith("content") ? Math.max(5, N / 30) | 0 : N;
  // A yield after each call, as between requests: the main thread's after-call work (the next
  // instance made ready) runs there and is counted. Rounds alternate which build goes first.
  const timed = builds.map(() => []);
  for (let i = 0; i < n + 5; i++) {
    for (const k of i % 2 ? [1, 0] : [0, 1]) {
      const t = performance.now();
      await fn(builds[k]);
      await new Promise((r) => setImmediate(r));
      if (i >= 5) timed[k].push(performance.now() - t);
    }
  }
  const rows = builds.map((b, k) => {
    const v = timed[k].sort((x, y) => x - y);
    return { name: b.name, median: v[v.length >> 1], p10: v[Math.floor(v.length * 0.1)] };
  });
  console.log(`${what}: ${rows.map((r) => `${r.name} ${r.median.toFixed(3)} ms (${r.p10.toFixed(3)})`).join(", ")}; this build / baseline ${(rows[0].median / rows[1].median).toFixed(2)}x`);
}
console.log(`load ${loadavg()[0].toFixed(2)} at the end`);
for (const b of builds) await b.sandbox.close();
