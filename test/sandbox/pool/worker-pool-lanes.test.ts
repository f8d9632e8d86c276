import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { afterAll, expect, test } from "vitest";
import { ModuleCache } from "../../../src/sandbox/module-cache.js";
import { WorkerPool } from "../../../src/sandbox/pool/worker-pool.js";
import type { RunInput } from "../../../src/sandbox/wasi/run-module.js";
import { probeWasmDir, tempTree } from "../helpers.js";

/* The real pool, two workers: a short run queued behind search-like bulk runs does not wait for them all. */

const t = tempTree("warden-lanes-");
const root = join(t.dir, "root");
mkdirSync(root);
const pool = new WorkerPool(2);
afterAll(async () => {
  await pool.close();
  t.cleanup();
});

const input = (args: string[]): RunInput => ({ name: "probe", args, scope: { preopens: [{ hostPath: root, writable: false }], denyGlobs: [] }, maxStdoutBytes: 1024 });

test("a short run goes ahead of queued bulk runs on the worker preferring short runs; every bulk run still ends", async () => {
  const module = await new ModuleCache(probeWasmDir()).get("probe");
  // Both workers up first (they start lazily).
  await Promise.all([pool.run(input(["args"]), module, 10_000), pool.run(input(["args"]), module, 10_000)]);
  const ended: string[] = [];
  const track = (name: string, p: Promise<unknown>) => p.then(() => ended.push(name));
  // Four bulk runs that spin until their deadline (two run, two wait), then one short run.
  const bulk = [1, 2, 3, 4].map((i) => track(`bulk${i}`, pool.run(input(["loop"]), module, 300, "bulk")));
  const short = track("short", pool.run(input(["args", "short"]), module, 10_000, "short"));
  await Promise.all([...bulk, short]);
  // First in, first out (one lane) would run it after bulk3 and bulk4 had started, so it would end last.
  expect(ended.indexOf("short")).toBeLessThan(ended.indexOf("bulk4"));
  expect(ended.indexOf("short")).toBeLessThan(ended.indexOf("bulk3"));
  expect(ended).toHaveLength(5);
});
