#!/usr/bin/env node
// The floor under content search in overlay mode: the system calls a search makes per file (open
// through the directory's held descriptor, fstat of what was opened, pread, close) and per directory
// (open, readdir), on a real 500-file tree and on a copy-on-write workspace's merged view of a copy
// of it, paired rounds in one process, no server, no module. Whatever ratio this prints, a whole
// search on the merged view cannot get below it by anything but reading fewer files through overlayfs.
// Run after `npm run build`:  node bench/overlay-search-floor.mjs   (N=600 for more rounds)
import { closeSync, constants, fstatSync, openSync, readdirSync, readSync, rmSync } from "node:fs";
import { join } from "node:path";
import { openWorkspace } from "../dist/workspace/index.js";
import { benchDir, makeSmallTree } from "./lib/small-tree.mjs";

const N = Number(process.env.N ?? 300);
const WARMUP = 20;
const base = benchDir("overlay-floor-");
const DIR = constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW | constants.O_NONBLOCK;
const FILE = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK | constants.O_NOCTTY;
const buf = Buffer.alloc(1 << 20);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

function walk(rootFd, withFiles) {
  const t = performance.now();
  for (let d = 0; d < 20; d++) {
    const dfd = openSync(`/proc/self/fd/${rootFd}/src${d}`, DIR);
    const names = readdirSync(`/proc/self/fd/${dfd}`);
    if (withFiles) {
      for (const name of names) {
        const fd = openSync(`/proc/self/fd/${dfd}/${name}`, FILE);
        fstatSync(fd);
        readSync(fd, buf, 0, buf.length, 0);
        closeSync(fd);
      }
    }
    closeSync(dfd);
  }
  return performance.now() - t;
}

makeSmallTree(join(base, "real"));
makeSmallTree(join(base, "view"));
const ws = await openWorkspace({ stateDir: join(base, "state"), name: "floor", roots: [join(base, "view")] });
const roots = { real: openSync(join(base, "real"), DIR), merged: openSync(`/proc/${ws.holderPid}/root${join(base, "view")}`, DIR) };
try {
  console.log(`overlayfs's own cost per call: real tree vs merged view, ${N} paired rounds (ms)`);
  for (const [label, withFiles] of [["20 dirs + 500 files (open, fstat, pread, close)", true], ["20 dirs only (open, readdir)", false]]) {
    const t = { real: [], merged: [] };
    for (let i = 0; i < N + WARMUP; i++) {
      for (const m of i % 2 ? ["real", "merged"] : ["merged", "real"]) {
        const ms = walk(roots[m], withFiles);
        if (i >= WARMUP) t[m].push(ms);
      }
    }
    const ratio = median(t.merged.map((x, i) => x / t.real[i]));
    console.log(`${label.padEnd(50)} real ${median(t.real).toFixed(2)}  merged ${median(t.merged).toFixed(2)}  merged - real ${(median(t.merged) - median(t.real)).toFixed(2)}  paired merged / real ${ratio.toFixed(3)}x`);
  }
} finally {
  closeSync(roots.real);
  closeSync(roots.merged);
  await ws.close();
  rmSync(base, { recursive: true, force: true });
}
