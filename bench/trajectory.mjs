#!/usr/bin/env node
// `warden trajectory export` (verify the chain through the session, then read its records) against
// `warden audit verify` of the same log (its named peer: export adds one read of the log and the
// formatting), on a log of RECORDS records spread over 20 sessions, measured round-robin in one run.
// Run after `npm run build`:
//   node bench/trajectory.mjs            (N=5 rounds, RECORDS=20000 by default)
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, realpathSync, rmSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const dist = process.env.WARDEN_DIST ?? fileURLToPath(new URL("../dist/", import.meta.url));
const { openAuditLog } = await import(pathToFileURL(join(dist, "audit/file-log.js")).href);
const cli = join(dist, "cli", "main.js");
const N = Number(process.env.N ?? 5);
const RECORDS = Number(process.env.RECORDS ?? 20000);
const cache = fileURLToPath(new URL("../.bench-cache/", import.meta.url));
mkdirSync(cache, { recursive: true });
const base = realpathSync(mkdtempSync(join(cache, "trajectory-")));
const log = join(base, "audit.jsonl");

// A log as a server writes it: reads are one record, writes an intent and an outcome.
const sink = await openAuditLog(log, { log: () => {} });
const sessions = Array.from({ length: 20 }, (_, i) => `session-${i}`);
for (let n = 0; n < RECORDS; ) {
  const session = sessions[n % sessions.length];
  const caller = { transport: "stdio", client: "bench/1", session };
  if (n % 3 === 0) {
    const id = `${n.toString(16).padStart(16, "0")}`;
    await sink.record({ id, phase: "intent", time: new Date().toISOString(), tool: "write_file", args: { path: `f${n}.txt`, content: `[CONTENT: 10 bytes, sha256:${"a".repeat(64)}]` }, ...caller });
    await sink.record({ id, phase: "outcome", time: new Date().toISOString(), tool: "write_file", decision: "allow", rule: "allow", duration_ms: 2, result_sha256: "b".repeat(64) });
    n += 2;
  } else {
    await sink.record({ time: new Date().toISOString(), tool: "read_file", args: { path: `f${n}.txt` }, decision: "allow", rule: "allow", duration_ms: 1, result_sha256: "c".repeat(64), ...caller });
    n += 1;
  }
}
await sink.close();

const time = (args) => {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: "utf8", maxBuffer: 256 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(`${args.join(" ")}: exit ${r.status}\n${r.stderr}`);
  return performance.now() - t0;
};
const cases = {
  "audit verify (peer)": () => time(["audit", "verify", log]),
  "trajectory export jsonl": () => time(["trajectory", "export", "session-7", "--audit-log", log]),
  "trajectory export atif": () => time(["trajectory", "export", "session-7", "--audit-log", log, "--format", "atif"]),
};
const runs = Object.fromEntries(Object.keys(cases).map((k) => [k, []]));
for (let i = 0; i < N; i++) for (const [k, f] of Object.entries(cases)) runs[k].push(f());
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const peer = median(runs["audit verify (peer)"]);
console.log(`log of ${RECORDS} records, 20 sessions; medians of ${N} rounds (whole processes)`);
for (const [k, xs] of Object.entries(runs)) console.log(`${k.padEnd(26)} ${median(xs).toFixed(0).padStart(6)} ms   x${(median(xs) / peer).toFixed(2)} of audit verify`);
rmSync(base, { recursive: true, force: true });
