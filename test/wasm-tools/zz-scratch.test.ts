import { test } from "vitest";
import { createSandbox } from "../../src/sandbox/index.js";
const tree = process.env.TREE ?? "/tmp/h1/tree";
test.skipIf(!process.env.H1_SCRATCH)("smoke", async () => {
  const sb = createSandbox({ workers: 1 });
  const scope = { preopens: [{ hostPath: tree, writable: true }], denyGlobs: [] };
  const run = async (module: string, args: string[], stdin?: string) => {
    const t = performance.now();
    const r = await sb.run({ module, args, scope, deadlineMs: 120_000, maxStdoutBytes: 1 << 28, ...(stdin !== undefined ? { stdin: new TextEncoder().encode(stdin) } : {}) });
    const out = Buffer.from(r.stdout).toString("utf8");
    console.log(module, args.join(" "), "->", r.exitCode, JSON.stringify(out.slice(0, 300)), JSON.stringify(r.stderr.slice(0, 300)), r.denials, `${(performance.now() - t).toFixed(1)}ms`);
    return r;
  };
  const cmds = JSON.parse(process.env.CMDS ?? "[]") as [string, string[], string?][];
  for (const [m, a, s] of cmds) await run(m, a, s);
  await sb.close();
});
