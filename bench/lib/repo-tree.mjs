// The workspace benches' tree: a git repository of `files` small files, 50 to a directory, 20
// directories to a parent, committed and packed (no background `gc --auto`: it would delete loose
// objects under a running cp -a).
import { execFileSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export function gitEnvFor(home) {
  return { ...process.env, GIT_AUTHOR_NAME: "b", GIT_AUTHOR_EMAIL: "b@b", GIT_COMMITTER_NAME: "b", GIT_COMMITTER_EMAIL: "b@b", GIT_CONFIG_NOSYSTEM: "1", HOME: home };
}

export function makeRepo(base, files) {
  const gitEnv = gitEnvFor(base);
  const root = join(base, `tree-${files}`);
  for (let i = 0; i < files; i++) {
    const d = join(root, `d${Math.floor(i / 1000)}`, `s${Math.floor(i / 50) % 20}`);
    if (i % 50 === 0) mkdirSync(d, { recursive: true });
    writeFileSync(join(d, `f${i}.txt`), `file ${i}\n${"x".repeat(i % 200)}\n`);
  }
  execFileSync("git", ["init", "-q", "-b", "main"], { cwd: root, env: gitEnv });
  execFileSync("git", ["add", "-A"], { cwd: root, env: gitEnv });
  execFileSync("git", ["-c", "gc.auto=0", "commit", "-q", "-m", "tree"], { cwd: root, env: gitEnv });
  execFileSync("git", ["repack", "-adq"], { cwd: root, env: gitEnv });
  execFileSync("git", ["config", "gc.auto", "0"], { cwd: root, env: gitEnv });
  return root;
}

/** The relative paths of `count` files spread evenly over a `files`-file tree (the diff benches' changes). */
export function spreadPaths(files, count) {
  const n = Math.min(count, files);
  return Array.from({ length: n }, (_, j) => Math.floor((j * files) / n)).map((i) => `d${Math.floor(i / 1000)}/s${Math.floor(i / 50) % 20}/f${i}.txt`);
}

/**
 * Times each case's `make()` (one copy of the tree; it returns how to remove it, not timed), N
 * rounds round-robin after one warm-up round, so machine load hits all alike. Medians, in case order.
 */
export async function timeMakes(cases, N) {
  const times = cases.map(() => []);
  for (let round = -1; round < N; round++) {
    for (const [i, c] of cases.entries()) {
      const t0 = performance.now();
      const teardown = await c.make();
      const ms = performance.now() - t0;
      await teardown();
      if (round >= 0) times[i].push(ms);
    }
  }
  return times.map((t) => t.sort((a, b) => a - b)[Math.floor(N / 2)]);
}
