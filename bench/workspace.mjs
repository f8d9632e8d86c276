#!/usr/bin/env node
// Workspace creation (a new copy-on-write workspace, mounted and ready) against `cp -a` of the tree
// and `git worktree add`, on trees of 5k, 10k and 20k files, measured round-robin in one run (only
// the making is timed; each copy is removed between rounds); then the diff of 1,000 changed files
// (as a git patch). The workspace is made with the kernel driver, and (FUSE=0 leaves it out) with the
// fuse driver (fuse-overlayfs) in the same rounds. Run after `npm run build`:
//   node bench/workspace.mjs            (N=5 rounds by default; N=9 node bench/workspace.mjs for more)
import { execFileSync, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, realpathSync, rmSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { gitEnvFor, makeRepo, spreadPaths, timeMakes } from "./lib/repo-tree.mjs";

const dist = process.env.WARDEN_DIST ?? fileURLToPath(new URL("../dist/", import.meta.url));
const { openWorkspace, discardWorkspace, diffWorkspace, gitPatch } = await import(pathToFileURL(join(dist, "workspace/index.js")).href);
const N = Number(process.env.N ?? 5);
const SIZES = (process.env.SIZES ?? "5000,10000,20000").split(",").map(Number);
// Under the repository's .bench-cache (git-ignored), not /tmp: other suites sweep /tmp/warden-*.
const cache = fileURLToPath(new URL("../.bench-cache/", import.meta.url));
mkdirSync(cache, { recursive: true });
const base = realpathSync(mkdtempSync(join(cache, "workspace-")));
const gitEnv = gitEnvFor(base);


const results = [];
try {
  for (const files of SIZES) {
    const root = makeRepo(base, files);
    const state = join(base, `state-${files}`);
    let k = 0;
    /** A new workspace with `driver`, mounted and ready (timed); closing and discarding it is not. */
    const workspaceCase = (label, driver) => ({
      name: label,
      make: async () => {
        const name = `w${k++}`;
        const h = await openWorkspace({ stateDir: state, name, roots: [root], driver });
        return async () => {
          await h.close();
          discardWorkspace({ stateDir: state, name });
        };
      },
    });
    // Each case makes one copy (timed) and returns how to remove it (not timed).
    const cases = [
      workspaceCase("workspace", "kernel"),
      {
        name: "cp -a",
        make: async () => {
          const to = join(base, "copy");
          execFileSync("cp", ["-a", root, to]);
          return async () => rmSync(to, { recursive: true, force: true });
        },
      },
      {
        name: "git worktree add",
        make: async () => {
          const to = join(base, "wt");
          execFileSync("git", ["worktree", "add", "-q", "--detach", to], { cwd: root, env: gitEnv });
          return async () => execFileSync("git", ["worktree", "remove", "--force", to], { cwd: root, env: gitEnv });
        },
      },
    ];
    if (process.env.FUSE !== "0") cases.push(workspaceCase("workspace (fuse)", "fuse"));
    results.push({ files, medians: await timeMakes(cases, N) });
  }

  // Diff of 1,000 changed files in the 20k (or largest) tree.
  const files = SIZES.at(-1);
  const root = join(base, `tree-${files}`);
  const state = join(base, `state-${files}`);
  const h = await openWorkspace({ stateDir: state, name: "diff", roots: [root] });
  const [cmd, ...args] = h.enterArgv();
  const paths = spreadPaths(files, 1000).join(" ");
  spawnSync(cmd, [...args, "/bin/sh", "-c", `cd '${root}' && for f in ${paths}; do echo changed >> "$f"; done`]);
  await h.close();
  const d = [];
  let changed = 0;
  let bytes = 0;
  for (let i = 0; i < N; i++) {
    const t0 = performance.now();
    const diff = diffWorkspace({ stateDir: state, name: "diff" });
    const { patch } = gitPatch(diff.roots[0].changes);
    d.push(performance.now() - t0);
    changed = diff.roots[0].changes.length;
    bytes = patch.length;
  }

  const f = (x) => x.toFixed(1).padStart(8);
  console.log(`creating a working copy, median of ${N} round-robin rounds (ms; ratio = peer / workspace)`);
  console.log("workspace = openWorkspace of a new name: make it on disk, start the holder, mount, check from outside");
  console.log(`files    workspace     cp -a  git worktree add   cp-a/ws   worktree/ws${results[0]?.medians.length > 3 ? "  ws (fuse)  cp-a/fuse" : ""}`);
  for (const { files, medians } of results) {
    const [w, c, g, fu] = medians;
    const fuse = fu === undefined ? "" : `  ${f(fu)}  ${(c / fu).toFixed(1).padStart(8)}x`;
    console.log(`${String(files).padStart(5)}  ${f(w)}  ${f(c)}          ${f(g)}  ${(c / w).toFixed(1).padStart(7)}x  ${(g / w).toFixed(1).padStart(10)}x${fuse}`);
  }
  console.log(`\ndiff --patch of ${changed} changed files in a ${files}-file tree: median ${d.sort((a, b) => a - b)[Math.floor(N / 2)].toFixed(0)} ms (${bytes} bytes of patch)`);
} finally {
  rmSync(base, { recursive: true, force: true });
}
