#!/usr/bin/env node
// The filesystem.deny check before each native command (src/exec/native/deny-masks.ts), on three
// 200 000-entry roots: a repository-like tree, a flood of files in one directory, a flood of empty
// directories. For each: the first check (cold index), then the median of later checks with nothing
// changed, against the named peer `find ROOT -type d` (GNU find listing every directory) measured in
// the same run. Run after `npm run build`: node bench/deny-scan.mjs   (N=20 for more samples)
import { execFileSync } from "node:child_process";
import { mkdtempSync, realpathSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const dist = process.env.WARDEN_DIST ?? fileURLToPath(new URL("../dist/", import.meta.url));
const load = (rel) => import(pathToFileURL(join(dist, rel)).href);
const { createDenyMaskCache } = await load("exec/native/deny-masks.js");
const { DEFAULT_DENY_GLOBS } = await load("policy/schema/filesystem.js");
const N = Number(process.env.N ?? 9);
const LIMIT = 10_000_000; // as large as the policy allows: measure the walk, not the bound

/** Python writes the trees: 200 000 entries in a second or two. */
const MAKE = {
  repo: "for d in range(10000):\n p=f'{R}/pkg{d//100}/m{d%100}'\n os.makedirs(p)\n for f in range(19): open(f'{p}/f{f}.js','w').close()\nopen(f'{R}/pkg0/.env','w').close()",
  "flood-files": "os.mkdir(f'{R}/flood')\nfor i in range(200000): open(f'{R}/flood/{i}','w').close()\nopen(f'{R}/.env','w').close()",
  "flood-dirs": "os.mkdir(f'{R}/flood')\nfor i in range(200000): os.mkdir(f'{R}/flood/{i}')\nopen(f'{R}/.env','w').close()",
};

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const ms = (x) => `${x.toFixed(1)} ms`;
const base = realpathSync(mkdtempSync(join(tmpdir(), "warden-bench-deny-")));
try {
  console.log(`deny check per command, default deny globs, ${N} samples (median); peer: find ROOT -type d`);
  for (const [name, code] of Object.entries(MAKE)) {
    const root = join(base, name);
    execFileSync("python3", ["-c", `import os\nR=${JSON.stringify(root)}\nos.mkdir(R)\n${code}`]);
    // Past the one-second window in which a just-changed directory is not trusted (RACY_MS).
    await new Promise((r) => setTimeout(r, 1100));
    const cache = createDenyMaskCache();
    const check = async () => {
      const t0 = performance.now();
      const m = await cache.masksFor([{ path: root }], DEFAULT_DENY_GLOBS, LIMIT);
      return { t: performance.now() - t0, hidden: (m.unscanned ?? []).length };
    };
    let first;
    try {
      first = await check();
    } catch (err) {
      console.log(`${name.padEnd(12)} refused: ${err.message}`);
      continue;
    }
    // The index finishes in the background; one more full check, as a command a few seconds later would make.
    await cache.settled?.();
    await check();
    await cache.settled?.();
    const later = [];
    let hidden = 0;
    for (let i = 0; i < N; i++) {
      const r = await check();
      later.push(r.t);
      hidden = Math.max(hidden, r.hidden);
    }
    const peer = [];
    for (let i = 0; i < Math.min(N, 5); i++) {
      const t0 = performance.now();
      execFileSync("find", [root, "-type", "d"], { stdio: "ignore" });
      peer.push(performance.now() - t0);
    }
    const l = median(later);
    const p = median(peer);
    console.log(
      `${name.padEnd(12)} first ${ms(first.t).padStart(10)} (hidden dirs ${first.hidden})  later ${ms(l).padStart(9)} (hidden ${hidden})  find -type d ${ms(p).padStart(9)}  ratio ${(l / p).toFixed(2)}`,
    );
    cache.close?.();
  }
} finally {
  rmSync(base, { recursive: true, force: true });
}
