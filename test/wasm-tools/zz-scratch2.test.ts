import { test } from "vitest";
import { createSandbox } from "../../src/sandbox/index.js";
test.skipIf(!process.env.H1_SCRATCH)("variants", async () => {
  const tree = "/tmp/h1/bench";
  const scope = { preopens: [{ hostPath: tree, writable: false }], denyGlobs: (process.env.DENY ?? "").split(",").filter(Boolean) };
  for (const v of (process.env.VARS ?? "0,1,2,3").split(",")) {
    const sb = createSandbox({ workers: 1, wasmDir: v === "main" ? undefined : `/tmp/h1/var/v${v}` });
    const times: number[] = [];
    let err = "";
    for (let i = 0; i < 4; i++) {
      const t = performance.now();
      const r = await sb.run({ module: "search", args: ["--max=1000000", `--content=${process.env.RE ?? "EXPORT_SYMBOL"}`, tree], scope, deadlineMs: 600_000, maxStdoutBytes: 1 << 28 });
      times.push(performance.now() - t);
      err = r.stderr;
    }
    console.log(`variant ${v}: ${times.map((x) => x.toFixed(0)).join(" ")} ms  ${err.trim()}`);
    await sb.close();
  }
});
