#!/usr/bin/env node
// The copy driver (`--overlay-driver copy`, the fallback where no overlay mounts) against its peers,
// measured round-robin in one run on the workspace bench's tree (20k small files in a git repo):
// creating a workspace with the copy driver vs `cp -a` of the tree (what it is expected to cost) and
// vs the kernel driver; then, on the copy, a diff with nothing changed (the walk of lstat calls), a
// diff of 1,000 changed files (as a git patch), and a checkpoint (a full copy again).
// Run after `npm run build`:  node bench/workspace-copy.mjs   (N=5 rounds; SIZES=5000,20000 for more sizes)
import { execFileSync, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, realpathSync, rmSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { makeRepo, spreadPaths, timeMakes } from "./lib/repo-tree.mjs";

const dist = process.env.WARDEN_DIST ?? fileURLToPath(new URL("../dist/", import.meta.url));
const { openWorkspace, discardWorkspace, diffWorkspace, gitPatch, checkpointWorkspace } = await import(pathToFileURL(join(dist, "workspace/index.js")).href);
const N = Number(process.env.N ?? 5);
const SIZES = (process.env.SIZES ?? "20000").split(",").map(Number);
const cache = fileURLToPath(new URL("../.bench-cache/", import.meta.url));
mkdirSync(cache, { recursive: true });
const base = realpathSync(mkdtempSync(join(cache, "workspace-copy-")));


const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const results = [];
try {
  for (const files of SIZES) {
    const root = makeRepo(base, files);
    const state = join(base, `state-${files}`);
    let k = 0;
    const workspace = (driver) => async () => {
      const name = `${driver}-${k++}`;
      const h = await openWorkspace({ stateDir: state, name, roots: [root], driver });
      return async () => {
        await h.close();
        discardWorkspace({ stateDir: state, name });
      };
    };
    const cases = [
      { name: "copy driver", make: workspace("copy") },
      {
        name: "cp -a",
        make: async () => {
          const to = join(base, "copy");
          execFileSync("cp", ["-a", root, to]);
          return async () => rmSync(to, { recursive: true, force: true });
        },
      },
      { name: "kernel driver", make: workspace("kernel") },
    ];
    results.push({ files, medians: await timeMakes(cases, N) });
  }

  const files = SIZES.at(-1);
  const root = join(base, `tree-${files}`);
  const state = join(base, `state-${files}`);
  const h = await openWorkspace({ stateDir: state, name: "diff", roots: [root], driver: "copy" });
  await h.close();
  const timeDiff = () => {
    const d = [];
    let changed = 0;
    for (let i = 0; i < N; i++) {
      const t0 = performance.now();
      const diff = diffWorkspace({ stateDir: state, name: "diff" });
      gitPatch(diff.roots[0].changes);
      d.push(performance.now() - t0);
      changed = diff.roots[0].changes.length;
    }
    return { ms: median(d), changed };
  };
  const clean = timeDiff();
  const h2 = await openWorkspace({ stateDir: state, name: "diff", roots: [root], driver: "copy" });
  const [cmd, ...args] = h2.enterArgv();
  const paths = spreadPaths(files, 1000).join(" ");
  spawnSync(cmd, [...args, "/bin/sh", "-c", `cd '${root}' && for f in ${paths}; do echo changed >> "$f"; done`]);
  await h2.close();
  const dirty = timeDiff();
  const cp = [];
  for (let i = 0; i < Math.min(N, 3); i++) {
    const t0 = performance.now();
    checkpointWorkspace({ stateDir: state, name: "diff" });
    cp.push(performance.now() - t0);
  }

  const f = (x) => x.toFixed(1).padStart(9);
  console.log(`creating a workspace, median of ${N} round-robin rounds (ms; ratio = copy driver / peer)`);
  console.log("files  copy driver      cp -a  kernel driver   copy/cp-a  copy/kernel");
  for (const { files: n, medians } of results) {
    const [c, a, kd] = medians;
    console.log(`${String(n).padStart(5)} ${f(c)} ${f(a)}      ${f(kd)}  ${(c / a).toFixed(2).padStart(9)}x  ${(c / kd).toFixed(1).padStart(10)}x`);
  }
  console.log(`\ncopy driver, ${files}-file tree: diff --patch with ${clean.changed} changes ${clean.ms.toFixed(0)} ms; with ${dirty.changed} changed files ${dirty.ms.toFixed(0)} ms; checkpoint (a full copy) median ${median(cp).toFixed(0)} ms`);
} finally {
  rmSync(base, { recursive: true, force: true });
}
