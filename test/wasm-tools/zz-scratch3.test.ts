import { spawnSync } from "node:child_process";
import { test } from "vitest";
import { createSandbox } from "../../src/sandbox/index.js";
test.skipIf(!process.env.H1_SCRATCH)("shards", async () => {
  const tree = "/tmp/h1/bench";
  const scope = { preopens: [{ hostPath: tree, writable: false }], denyGlobs: [] };
  const sb = createSandbox({ workers: 2 });
  const run = (args: string[]) => sb.run({ module: "search", args: ["--max=10000000", ...args, tree], scope, deadlineMs: 600_000, maxStdoutBytes: 1 << 30 });
  await Promise.all([run(["--max=1"]), run(["--max=1"])]);
  const med = (a: number[]) => [...a].sort((x, y) => x - y)[a.length >> 1]!;
  for (const [name, re] of [["literal rare", "EXPORT_SYMBOL"], ["regex+literal", "struct [a-z_]+ \\{"], ["regex no literal", "[0-9]{4}-[0-9]{2}-[0-9]{2}"], ["alternation", "foo|bar"]]) {
    const one: number[] = [], two: number[] = [], rg: number[] = [];
    let counts = "";
    for (let i = 0; i < 5; i++) {
      let t = performance.now();
      const a = await run([`--content=${re}`]);
      one.push(performance.now() - t);
      t = performance.now();
      const [s0, s1] = await Promise.all([run([`--content=${re}`, "--shard=0/2"]), run([`--content=${re}`, "--shard=1/2"])]);
      two.push(performance.now() - t);
      t = performance.now();
      const r = spawnSync("rg", ["-n", "--hidden", re!, tree], { maxBuffer: 1 << 30 });
      rg.push(performance.now() - t);
      const m = (x: { stderr: string }) => Number(/matches=(\d+)/.exec(x.stderr)?.[1]);
      counts = `${m(a)} = ${m(s0)}+${m(s1)} / rg ${r.stdout.toString().split("\n").length - 1}`;
    }
    console.log(`RESULT ${name!.padEnd(18)} 1 run ${med(one).toFixed(0)} ms, 2 shards ${med(two).toFixed(0)} ms, rg ${med(rg).toFixed(0)} ms, ratio ${(med(two) / med(rg)).toFixed(2)} (${counts})`);
  }
  await sb.close();
}, 600_000);
