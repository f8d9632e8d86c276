import { mkdtempSync, realpathSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createSandbox, type Sandbox } from "../../src/sandbox/index.js";
import type { ModuleRunResult, SandboxScope } from "../../src/sandbox/types.js";

/*
 * The WASI modules of wasm-tools/ run through the real sandbox (src/sandbox) against real temp
 * trees, exactly as the tool layer runs them: built modules from wasm-tools/build, roots as preopens.
 */

export interface Run extends ModuleRunResult {
  out: string;
  /** The `CODE` of the last stderr line `CODE: message`, or "". */
  code: string;
}

export interface Harness {
  root: string;
  scope: SandboxScope;
  run(module: string, args: string[], opts?: { stdin?: string | Uint8Array; scope?: SandboxScope; maxStdoutBytes?: number; claims?: SharedArrayBuffer }): Promise<Run>;
  close(): Promise<void>;
}

/** A sandbox plus a fresh canonical temp root (read-write) that `close()` removes. */
export function harness(prefix = "warden-wt-"): Harness {
  const root = realpathSync(mkdtempSync(join(tmpdir(), prefix)));
  const scope: SandboxScope = { preopens: [{ hostPath: root, writable: true }], denyGlobs: [] };
  const sandbox: Sandbox = createSandbox({ workers: 1 });
  return {
    root,
    scope,
    async run(module, args, opts = {}) {
      const stdin = typeof opts.stdin === "string" ? new TextEncoder().encode(opts.stdin) : opts.stdin;
      const r = await sandbox.run({
        module,
        args,
        scope: opts.scope ?? scope,
        deadlineMs: 30_000,
        maxStdoutBytes: opts.maxStdoutBytes ?? 64 << 20,
        ...(stdin ? { stdin } : {}),
        ...(opts.claims ? { claims: opts.claims } : {}),
      });
      const last = r.stderr.trim().split("\n").pop() ?? "";
      return { ...r, out: Buffer.from(r.stdout).toString("utf8"), code: /^([A-Z][A-Z0-9_]*): /.exec(last)?.[1] ?? "" };
    },
    async close() {
      await sandbox.close();
      rmSync(root, { recursive: true, force: true });
    },
  };
}

/** Splits a NUL-terminated record stream into fields. */
export function fields(out: string): string[] {
  const parts = out.split("\0");
  parts.pop();
  return parts;
}

/** Groups NUL fields into records of n fields. */
export function records(out: string, n: number): string[][] {
  const f = fields(out);
  const rows: string[][] = [];
  for (let i = 0; i < f.length; i += n) rows.push(f.slice(i, i + n));
  return rows;
}

/** `k=v k=v` of a header or stats line. */
export function kv(line: string): Record<string, string> {
  return Object.fromEntries([...line.matchAll(/(\w+)=(\S*)/g)].map((m) => [m[1]!, m[2]!]));
}
