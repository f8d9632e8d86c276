#!/usr/bin/env node
// Commands in overlay mode against normal mode on the native backend itself (no MCP, no audit), in
// one process: two backends, one over a real root and one over a copy-on-write workspace's merged
// view of a copy of it, `true` round-robin. Printed: medians and paired medians (within a round) of
// the time to the gate's "go" (the sandbox checked, the command about to start) and of the whole
// run, overlay minus normal (issue 12's goal for commands: under 5 ms more). Less noisy than
// bench/overlay-mode.mjs, which times whole MCP calls.
// Run after `npm run build`:  node bench/overlay-exec.mjs   (N=300 node bench/overlay-exec.mjs for more)
import { mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { openWorkspace } from "../dist/workspace/index.js";
import { openHostRoot, RootHolder } from "../dist/config/held-roots.js";
import { mergedRootOpener } from "../dist/config/merged-roots.js";
import { createNativeBackend } from "../dist/exec/native/index.js";
import { DEFAULT_DENY_GLOBS } from "../dist/policy/schema/filesystem.js";

const N = Number(process.env.N ?? 150);
const WARMUP = 5;
// Under the repository's .bench-cache (git-ignored), not /tmp: other suites sweep /tmp/warden-*.
const cache = fileURLToPath(new URL("../.bench-cache/", import.meta.url));
mkdirSync(cache, { recursive: true });
const base = realpathSync(mkdtempSync(join(cache, "overlay-exec-")));
/** The same 500-file tree as bench/overlay-mode.mjs (the deny scan walks it before each command). */
function makeTree(root) {
  mkdirSync(root);
  for (let d = 0; d < 20; d++) {
    mkdirSync(join(root, `src${d}`));
    for (let f = 0; f < 25; f++) writeFileSync(join(root, `src${d}`, `f${f}.c`), `int f${f}(void) { return ${f}; }\n`);
  }
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const normalRoot = join(base, "normal");
const overlayRoot = join(base, "overlay");
makeTree(normalRoot);
makeTree(overlayRoot);
const ws = await openWorkspace({ stateDir: join(base, "state"), name: "bench", roots: [overlayRoot] });
const holders = { normal: new RootHolder(openHostRoot), overlay: new RootHolder(mergedRootOpener({ via: `/proc/${ws.holderPid}/root`, roots: [overlayRoot], fsType: ws.fsType })) };
const backends = { normal: createNativeBackend({ confinement: "bubblewrap" }), overlay: createNativeBackend({ confinement: "bubblewrap" }) };
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
const requests = { normal: request("normal", normalRoot), overlay: request("overlay", overlayRoot) };
const times = { normal: { gate: [], total: [] }, overlay: { gate: [], total: [] } };
try {
  for (let i = 0; i < N + WARMUP; i++) {
    for (const mode of ["normal", "overlay"]) {
      await new Promise((r) => setTimeout(r, 10)); // the launcher for the next command gets ready
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
  for (const [phase, label] of [["gate", "call to the gate's go"], ["total", "whole run"]]) {
    const n = times.normal[phase];
    const o = times.overlay[phase];
    const paired = median(o.map((t, i) => t - n[i]));
    console.log(`${label.padEnd(28)}${median(n).toFixed(2).padStart(9)}${median(o).toFixed(2).padStart(10)}${(median(o) - median(n)).toFixed(2).padStart(16)}${paired.toFixed(2).padStart(10)}`);
  }
} finally {
  await backends.normal.close();
  await backends.overlay.close();
  holders.normal.close();
  holders.overlay.close();
  await ws.close();
  rmSync(base, { recursive: true, force: true });
}
