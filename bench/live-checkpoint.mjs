#!/usr/bin/env node
// A live checkpoint (the copy of a live workspace's upper layer that POST
// /api/v1/workspaces/NAME/checkpoints takes with the workspace quiet) against its peer, `cp -a` of
// the whole tree, on a 20k-file tree with 10, 100 and 1,000 changed files, round-robin in one run
// (kernel driver; the gate itself waits for nothing here). Run after `npm run build`:
//   node bench/live-checkpoint.mjs        (N=5 rounds; FILES=20000)
import { execFileSync, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, realpathSync, rmSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { makeRepo, spreadPaths } from "./lib/repo-tree.mjs";

const dist = process.env.WARDEN_DIST ?? fileURLToPath(new URL("../dist/", import.meta.url));
const { openWorkspace, snapshotLiveWorkspace } = await import(pathToFileURL(join(dist, "workspace/index.js")).href);
const N = Number(process.env.N ?? 5);
const FILES = Number(process.env.FILES ?? 20000);
const CHANGED = [10, 100, 1000];
const cache = fileURLToPath(new URL("../.bench-cache/", import.meta.url));
mkdirSync(cache, { recursive: true });
const base = realpathSync(mkdtempSync(join(cache, "live-cp-")));
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

try {
  const root = makeRepo(base, FILES);
  const state = join(base, "state");
  const handles = [];
  for (const k of CHANGED) {
    const h = await openWorkspace({ stateDir: state, name: `c${k}`, roots: [root], driver: "kernel" });
    const [cmd, ...args] = h.enterArgv();
    spawnSync(cmd, [...args, "/bin/sh", "-c", `cd '${root}' && for f in ${spreadPaths(FILES, k).join(" ")}; do echo changed >> "$f"; done`]);
    handles.push({ k, h, live: [], cp: [] });
  }
  for (let i = 0; i < N; i++) {
    for (const c of handles) {
      const t0 = performance.now();
      await snapshotLiveWorkspace(c.h.dir, c.h.holderPid, `r${i}`);
      c.live.push(performance.now() - t0);
      const to = join(base, "copy");
      const t1 = performance.now();
      execFileSync("cp", ["-a", root, to]);
      c.cp.push(performance.now() - t1);
      rmSync(to, { recursive: true, force: true });
    }
  }
  for (const c of handles) await c.h.close();
  console.log(`live checkpoint of a ${FILES}-file tree, median of ${N} round-robin rounds (ms; ratio = cp -a / live checkpoint)`);
  console.log("changed files   live checkpoint   cp -a of the tree   cp-a/live");
  for (const c of handles) {
    const [l, p] = [median(c.live), median(c.cp)];
    console.log(`${String(c.k).padStart(13)}   ${l.toFixed(1).padStart(15)}   ${p.toFixed(1).padStart(17)}   ${(p / l).toFixed(1).padStart(8)}x`);
  }
} finally {
  rmSync(base, { recursive: true, force: true });
}
