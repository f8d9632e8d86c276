import { mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync } from "node:fs";
import { readHostLayout } from "../../src/exec/native/host-layout.js";
import { isWithin } from "../../src/policy/roots.js";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ExecRequest } from "../../src/exec/types.js";
import { createMemoryAuditSink } from "../../src/audit/memory-sink.js";
import { parsePolicy } from "../../src/config/load-policy.js";
import { createCommandBridge, type CommandBridgeOptions } from "../../src/exec/bridge.js";
import type { DecideCommand } from "../../src/exec/command-policy.js";
import type { ExecBackend } from "../../src/exec/types.js";

/** A fresh canonical temp directory; remove it with `cleanup`. */
export function tempDir(prefix: string): string {
  return realpathSync(mkdtempSync(join(tmpdir(), `warden-${prefix}-`)));
}

export function cleanup(...dirs: string[]): void {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
}

/**
 * The node running the tests (process.execPath, not a guessed /usr/bin/node), for commands run
 * inside the native sandbox. The sandbox binds only the system directories (/usr, /bin, /opt, ...),
 * so a node installed elsewhere (~/.nvm) does not exist in it: say so instead of failing obscurely.
 */
export function sandboxNode(): string {
  const node = realpathSync(process.execPath);
  const system = readHostLayout().system.map((s) => s.path);
  if (!system.some((dir) => isWithin(dir, node))) {
    throw new Error(`${node} (the node running the tests) is outside the directories the sandbox binds (${system.join(", ")}): run the tests with a node installed under one of them`);
  }
  return node;
}

/** A request for the native backend with small limits, confined to `root`. */
export function request(root: string, argv: string[], extra: Partial<ExecRequest> = {}): ExecRequest {
  return {
    argv,
    cwd: root,
    env: { PATH: "/usr/local/bin:/usr/bin:/bin", HOME: "/home/warden", LANG: "C.UTF-8" },
    timeoutMs: 10_000,
    outputCapBytes: 64 * 1024,
    limits: { memoryMb: 1024, processes: 64, cpuS: 60, fileSizeMb: 64, network: false },
    roots: [{ path: root, writable: true }],
    ...extra,
  };
}

/** A shell script request (`/bin/sh -c script`). */
export function script(root: string, text: string, extra: Partial<ExecRequest> = {}): ExecRequest {
  return request(root, ["/bin/sh"], { script: text, ...extra });
}

/** Pids of live (non-zombie) processes whose command line contains `marker`. */
export function processesWith(marker: string): number[] {
  const out: number[] = [];
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
    try {
      const cmdline = readFileSync(`/proc/${name}/cmdline`, "utf8");
      if (!cmdline.includes(marker)) continue;
      const stat = readFileSync(`/proc/${name}/stat`, "utf8");
      const state = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
      if (state !== "Z") out.push(Number(name));
    } catch {
      // gone
    }
  }
  return out;
}

/** Pids of live processes in process group `pgid`. */
export function processesInGroup(pgid: number): number[] {
  const out: number[] = [];
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      if (fields[0] !== "Z" && Number(fields[2]) === pgid) out.push(Number(name));
    } catch {
      // gone
    }
  }
  return out;
}

/**
 * A stand-in for the command policy in execution tests: allows every command line and runs it as
 * a `/bin/sh -c` script, like privileged mode. The confinement tests use it to show what the OS
 * layer holds even when a command got past the policy.
 */
export const allowEverything: DecideCommand = async (source) => ({
  allow: true,
  rule: "test.allow_all",
  reason: "test",
  plan: { kind: "script", shell: "/bin/sh", script: source },
});

/** A small real policy for bridge tests (`{}` sections default). */
export function testPolicy(execution: Record<string, unknown> = {}, extra: Record<string, unknown> = {}) {
  return parsePolicy({ execution: { timeout_s: 10, ...execution }, ...extra });
}

export function bridgeWith(backend: ExecBackend, roots: { path: string; writable: boolean }[], opts: Partial<CommandBridgeOptions> = {}) {
  const audit = createMemoryAuditSink();
  const bridge = createCommandBridge({
    policy: opts.policy ?? testPolicy(),
    backend,
    audit,
    roots: async () => roots,
    decide: allowEverything,
    ...opts,
  });
  return { bridge, audit };
}
