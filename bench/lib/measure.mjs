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
