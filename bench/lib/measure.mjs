import { readFileSync } from "node:fs";

/**
 * Runs every case round-robin (so load from anything else on the machine hits all alike) after
 * `warmup` rounds, and returns p10, median and p90 per case in milliseconds. `rotate`: round i
 * starts at case i mod the number of cases, so no case always follows the same one (a server's
 * work after its reply lands on whichever call comes next). `pauseMs`: an idle pause before each
 * timed call, as between an agent's calls (a server's work after its reply then lands in the pause).
 */
export async function measureAll(cases, { n, warmup, rotate = false, pauseMs = 0 }) {
  for (let i = 0; i < warmup; i++) for (const c of cases) await c.fn();
  const times = cases.map(() => []);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < cases.length; j++) {
      const k = rotate ? (i + j) % cases.length : j;
      if (pauseMs > 0) await new Promise((r) => setTimeout(r, pauseMs));
      const t = performance.now();
      await cases[k].fn();
      times[k].push(performance.now() - t);
    }
  }
  return cases.map((c, k) => {
    // `rounds`: the times in the order measured, round i of every case side by side (paired comparisons).
    const rounds = [...times[k]];
    const t = times[k].sort((a, b) => a - b);
    return { name: c.name, p10: t[Math.floor(n * 0.1)], median: t[Math.floor(n / 2)], p90: t[Math.floor(n * 0.9)], rounds };
  });
}

/** user + system CPU of a process in ms (/proc/<pid>/stat, all its threads); NaN once it is gone. */
export function processCpuMs(pid) {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ").map(Number);
    return (f[11] + f[12]) * 10;
  } catch {
    return NaN;
  }
}

/**
 * Waits until the processes `pids` are quiet: under `quietMs` of CPU together over `windowMs`
 * (a server just started still loads, compiles and indexes its roots for a second or so, on the same
 * cores as the calls being timed), or `timeoutMs` has passed. Returns how long it waited.
 */
export async function settle(pids, { windowMs = 300, quietMs = 10, timeoutMs = 15_000 } = {}) {
  const start = performance.now();
  const total = () => pids.reduce((sum, pid) => sum + (processCpuMs(pid) || 0), 0);
  let last = total();
  while (performance.now() - start < timeoutMs) {
    await new Promise((r) => setTimeout(r, windowMs));
    const now = total();
    if (now - last < quietMs) break;
    last = now;
  }
  return performance.now() - start;
}
