/**
 * Runs every case round-robin (so load from anything else on the machine hits all alike) after
 * `warmup` rounds, and returns p10, median and p90 per case in milliseconds.
 */
export async function measureAll(cases, { n, warmup }) {
  for (let i = 0; i < warmup; i++) for (const c of cases) await c.fn();
  const times = cases.map(() => []);
  for (let i = 0; i < n; i++) {
    for (const [k, c] of cases.entries()) {
      const t = performance.now();
      await c.fn();
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
