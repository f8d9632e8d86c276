#!/usr/bin/env node
// Commands in overlay mode against normal mode on the native backend itself (no MCP, no audit), in
// one process: two backends, one over a real root and one over a copy-on-write workspace's merged
// view of a copy of it, `true` round-robin. Printed: medians and paired medians (within a round) of
// the time to the gate's "go" (the sandbox checked, the command about to start) and of the whole
// run, overlay minus normal (issue 12's goal for commands: under 5 ms more). Less noisy than
// bench/overlay-mode.mjs, which times whole MCP calls.
// Run after `npm run build`:  node bench/overlay-exec.mjs   (N=300 for more rounds; GAP_MS=10 for
// commands closer together than their launchers are made)
import { rmSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { benchDir, makeSmallTree } from "./lib/small-tree.mjs";
import { openWorkspace } from "../dist/workspace/index.js";
import { openHostRoot, RootHolder } from "../dist/config/held-roots.js";
import { mergedRootOpener } from "../dist/config/merged-roots.js";
import { createNativeBackend } from "../dist/exec/native/index.js";
import { DEFAULT_DENY_GLOBS } from "../dist/policy/schema/filesystem.js";

const N = Number(process.env.N ?? 150);
const WARMUP = 5;
const GAP_MS = Number(process.env.GAP_MS ?? 100);
const base = benchDir("overlay-exec-");
/** The deny scan walks this tree before each command. */
const makeTree = makeSmallTree;
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const normalRoot = join(base, "normal");
const overlayRoot = join(base, "overlay");
makeTree(normalRoot);
makeTree(overlayRoot);
const ws = await openWorkspace({ stateDir: join(base, "state"), name: "bench", roots: [overlayRoot] });
const holders = { normal: new RootHolder(openHostRoot), overlay: new RootHolder(mergedRootOpener({ via: `/proc/${ws.holderPid}/root`, roots: [overlayRoot], fsType: ws.fsType })) };
const backends = { normal: createNativeBackend({ confinement: "bubblewrap" }), overlay: createNativeBackend({ confinement: "bubblewrap" }) };
// BASE_DIST=/path/to/other/dist: that build's backend too, both modes, in the same rounds (a before/after).
const baseBackend = process.env.BASE_DIST ? (await import(pathToFileURL(join(process.env.BASE_DIST, "exec/native/index.js")).href)).createNativeBackend : null;
if (baseBackend) Object.assign(backends, { "base normal": baseBackend({ confinement: "bubblewrap" }), "base overlay": baseBackend({ confinement: "bubblewrap" }) });
const modes = Object.keys(backends);
const request = (mode, root) => ({
  argv: ["/bin/true"],
  cwd: root,
  env: { PATH: "/usr/bin:/bin" },
  timeoutMs: 10_000,
  outputCapBytes: 64 * 1024,
  limits: { memoryMb: 512, processes: 256, cpuS: 60, fileSizeMb: 100, network: false },
  roots: [{ path: root, writable: true, held: holders[mode].hold(root) }],
  denyGlobs: DEFAULT_DENY_GLOBS,
});
const requests = Object.fromEntries(modes.map((m) => [m, m.endsWith("overlay") ? request("overlay", overlayRoot) : request("normal", normalRoot)]));
const times = Object.fromEntries(modes.map((m) => [m, { gate: [], total: [] }]));
try {
  for (let i = 0; i < N + WARMUP; i++) {
    for (const mode of modes) {
      // The launcher for the next command is made once the previous command has ended: give it time
      // to be ready, so neither backend's launcher is being made while the other's command is timed.
      await new Promise((r) => setTimeout(r, GAP_MS));
      const t0 = performance.now();
      const proc = await backends[mode].start(requests[mode]);
      const gate = performance.now() - t0;
      await proc.closeStdin();
      const result = await proc.done;
      const total = performance.now() - t0;
      if (result.exit_code !== 0) throw new Error(`${mode}: ${JSON.stringify(result)}`);
      if (i >= WARMUP) {
        times[mode].gate.push(gate);
        times[mode].total.push(total);
      }
    }
  }
  console.log(`native backend, \`true\` under bubblewrap, normal vs overlay mode, ${N} round-robin rounds (ms)`);
  console.log(`${"phase".padEnd(28)}${"normal".padStart(9)}${"overlay".padStart(10)}${"overlay-normal".padStart(16)}${"paired -".padStart(10)}`);
  for (const prefix of baseBackend ? ["", "base "] : [""]) {
    if (baseBackend) console.log(prefix ? `the build in ${process.env.BASE_DIST}` : "this build");
    for (const [phase, label] of [["gate", "call to the gate's go"], ["total", "whole run"]]) {
      const n = times[`${prefix}normal`][phase];
      const o = times[`${prefix}overlay`][phase];
      const paired = median(o.map((t, i) => t - n[i]));
      console.log(`${label.padEnd(28)}${median(n).toFixed(2).padStart(9)}${median(o).toFixed(2).padStart(10)}${(median(o) - median(n)).toFixed(2).padStart(16)}${paired.toFixed(2).padStart(10)}`);
    }
  }
} finally {
  for (const b of Object.values(backends)) await b.close();
  holders.normal.close();
  holders.overlay.close();
  await ws.close();
  rmSync(base, { recursive: true, force: true });
}
