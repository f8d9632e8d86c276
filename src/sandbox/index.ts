import { existsSync } from "node:fs";
import { join } from "node:path";
import { packageRoot } from "../config/package-root.js";
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
}

/**
 * The WASI runtime the file tools run in. Modules see only the preopens of each request's scope,
 * through a resolver that confines every path (see src/sandbox/README.md). Each call is a fresh
 * instance in a worker; `close()` stops the workers.
 */
export function createSandbox(options: SandboxOptions = {}): Sandbox {
  const cache = new ModuleCache(options.wasmDir ?? join(packageRoot(import.meta.url), "wasm-tools", "build"));
  const workers = options.workers ?? 2;
  const pool = new WorkerPool(workers);
  const supported = process.platform === "linux" && existsSync("/proc/self/fd");
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
      return pool.run(
        {
          name: request.module,
          args: request.args,
          ...(request.stdin ? { stdin: request.stdin } : {}),
          ...(request.claims ? { claims: request.claims } : {}),
          scope: { preopens: request.scope.preopens.map((p) => ({ ...p })), denyGlobs: [...request.scope.denyGlobs] },
          maxStdoutBytes: request.maxStdoutBytes,
        },
        module,
        request.deadlineMs,
      );
    },
    close: () => pool.close(),
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
