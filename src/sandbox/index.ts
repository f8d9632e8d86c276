import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { packageRoot } from "../config/package-root.js";
import { InlineRunner } from "./inline/inline-runner.js";
import { LocalRoots, type FilesystemProbe } from "./inline/local-roots.js";
import { LoopLag } from "./inline/loop-lag.js";
import { ModuleCache } from "./module-cache.js";
import { WorkerPool } from "./pool/worker-pool.js";
import type { SandboxModule } from "./wasi/memory-import.js";
import type { ModuleRunRequest, ModuleRunResult, Sandbox } from "./types.js";

export type { ModuleRunRequest, ModuleRunResult, Preopen, Sandbox, SandboxDenial, SandboxScope } from "./types.js";

export interface SandboxOptions {
  /** Worker threads running modules (default 2). A runaway module costs one until its deadline. */
  workers?: number;
  /** Where `<module>.wasm` files live (default: `wasm-tools/build` in the mcp-warden package). */
  wasmDir?: string;
  /**
   * Fuel budget of a call run on the main thread (`inline` requests; about one unit per loop
   * iteration or function call, host calls cost `inlineHostCallCost`). 0 sends every call to the
   * pool. Default 2,000,000 (a few milliseconds of module work).
   */
  inlineFuel?: number;
  /** Fuel one host call costs on the main thread (default 2,000). */
  inlineHostCallCost?: number;
  /** Largest reply of a main-thread run (default 256 KiB); a larger one is stopped and run in the pool. */
  inlineMaxStdoutBytes?: number;
  /**
   * Main-thread runs pause while the mean event-loop delay of the last 100 ms is above this (ms;
   * default 10): those calls go to the pool. 0 turns the check off. `mainThreadBusy` replaces the
   * measurement (tests).
   */
  inlineMaxLoopDelayMs?: number;
  mainThreadBusy?: () => boolean;
  /** How a root's filesystem is told local (tests); default statfs(2) and /proc/self/mountinfo. */
  filesystemProbe?: FilesystemProbe;
}

export const DEFAULT_INLINE_FUEL = 2_000_000;
export const DEFAULT_INLINE_HOST_CALL_COST = 2_000;
export const DEFAULT_INLINE_MAX_LOOP_DELAY_MS = 10;

/**
 * The WASI runtime the file tools run in. Modules see only the preopens of each request's scope,
 * through a resolver that confines every path (see src/sandbox/README.md). Each call is a fresh
 * instance in a worker; `close()` stops the workers.
 */
export function createSandbox(options: SandboxOptions = {}): Sandbox {
  // Absolute from here on: main-thread runs move the working directory for a moment (host/dir-stat.ts).
  const cache = new ModuleCache(resolve(options.wasmDir ?? join(packageRoot(import.meta.url), "wasm-tools", "build")));
  const workers = options.workers ?? 2;
  const pool = new WorkerPool(workers);
  const supported = process.platform === "linux" && existsSync("/proc/self/fd");
  const budget = options.inlineFuel ?? DEFAULT_INLINE_FUEL;
  const inline =
    budget > 0
      ? new InlineRunner(
          { budget: BigInt(budget), hostCallCost: BigInt(options.inlineHostCallCost ?? DEFAULT_INLINE_HOST_CALL_COST) },
          new LocalRoots(options.filesystemProbe),
          options.inlineMaxStdoutBytes,
        )
      : null;
  const delayMs = options.inlineMaxLoopDelayMs ?? DEFAULT_INLINE_MAX_LOOP_DELAY_MS;
  const lag = inline !== null && !options.mainThreadBusy && delayMs > 0 ? new LoopLag(delayMs) : null;
  const busy = options.mainThreadBusy ?? (() => lag?.high ?? false);
  return {
    workers,
    async run(request: ModuleRunRequest): Promise<ModuleRunResult> {
      if (!supported) {
        return refusal("sandbox.unsupported_platform", "the WASI sandbox needs Linux with /proc mounted", "ENOTSUP");
      }
      if (!Number.isFinite(request.deadlineMs) || request.deadlineMs <= 0) throw new Error("deadlineMs must be a positive number");
      if (!Number.isInteger(request.maxStdoutBytes) || request.maxStdoutBytes < 0) throw new Error("maxStdoutBytes must be a non-negative integer");
      let module: SandboxModule;
      try {
        module = await cache.get(request.module);
      } catch (err) {
        const message = (err as Error).message;
        return refusal("sandbox.module", `module ${request.module} is unavailable: ${message}`, "EIO");
      }
      const input = {
        name: request.module,
        args: request.args,
        ...(request.stdin ? { stdin: request.stdin } : {}),
        ...(request.claims ? { claims: request.claims } : {}),
        scope: { preopens: request.scope.preopens.map((p) => ({ ...p })), denyGlobs: [...request.scope.denyGlobs] },
        maxStdoutBytes: request.maxStdoutBytes,
      };
      if (!request.inline || inline === null) return pool.run(input, module, request.deadlineMs);
      if (busy()) return { ...(await pool.run(input, module, request.deadlineMs)), ranOn: "pool" };
      pool.collect(); // replies finished meanwhile (pool.run does this for the calls it takes)
      const first = inline.run(module, input);
      if (first !== null && !("fellBack" in first)) {
        const { fuelUsed, ...result } = first;
        return { ...result, ranOn: "main", inlineFuel: { used: fuelUsed ?? 0, budget, exhausted: false } };
      }
      const result = await pool.run(input, module, request.deadlineMs);
      return { ...result, ranOn: "pool", ...(first ? { inlineFuel: { used: first.fuelUsed, budget, exhausted: true } } : {}) };
    },
    close: () => {
      lag?.close();
      inline?.close();
      return pool.close();
    },
  };
}

/** A claim table for the shards of one search: 2^19 units (directories or files near the top). */
export function newClaimTable(): SharedArrayBuffer {
  return new SharedArrayBuffer(64 * 1024);
}

function refusal(rule: string, reason: string, code: string): ModuleRunResult {
  return {
    exitCode: 1,
    stdout: new Uint8Array(),
    stderr: `${code}: ${reason}\n`,
    denials: [{ rule, path: "", reason }],
    timedOut: false,
    durationMs: 0,
  };
}
