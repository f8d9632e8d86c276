import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, renameSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createSandbox, type Sandbox } from "../../src/sandbox/index.js";
import type { ModuleRunResult, SandboxScope } from "../../src/sandbox/types.js";

const PROBE_SOURCE = new URL("../fixtures/wasm/probe.c", import.meta.url);
/** Linked like wasm-tools/build.sh: the runtime gives the module its memory (capped at 64 MiB). */
const PROBE_FLAGS = ["--target=wasm32-wasi", "-O2", "-Wl,--strip-all", "-Wl,--import-memory", "-Wl,--max-memory=67108864"];

/**
 * Builds test/fixtures/wasm/probe.c with clang (wasm32-wasi) into a temp dir named by the source
 * hash, once per source version (parallel test files share it; the rename makes it atomic).
 */
export function probeWasmDir(): string {
  const source = readFileSync(PROBE_SOURCE);
  const hash = createHash("sha256").update(source).update(PROBE_FLAGS.join(" ")).digest("hex").slice(0, 16);
  const dir = join(tmpdir(), `mcp-warden-probe-${hash}`);
  const wasm = join(dir, "probe.wasm");
  if (existsSync(wasm)) return dir;
  mkdirSync(dir, { recursive: true });
  const tmp = join(dir, `probe.${process.pid}.${Date.now()}.wasm`);
  execFileSync("clang", [...PROBE_FLAGS, "-o", tmp, new URL(PROBE_SOURCE).pathname], { stdio: "pipe" });
  renameSync(tmp, wasm);
  return dir;
}

/** A fresh temp directory, canonical (realpath), removed by the returned cleanup. */
export function tempTree(prefix = "warden-sbx-"): { dir: string; cleanup: () => void } {
  const dir = realpathSync(mkdtempSync(join(tmpdir(), prefix)));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export interface ProbeResult extends ModuleRunResult {
  out: string;
}

/** Runs the probe with argv in the given scope. */
export async function probe(sandbox: Sandbox, scope: SandboxScope, args: string[], opts: { deadlineMs?: number; maxStdoutBytes?: number; stdin?: Uint8Array } = {}): Promise<ProbeResult> {
  const result = await sandbox.run({
    module: "probe",
    args,
    scope,
    deadlineMs: opts.deadlineMs ?? 10_000,
    maxStdoutBytes: opts.maxStdoutBytes ?? 1 << 20,
    ...(opts.stdin ? { stdin: opts.stdin } : {}),
  });
  return { ...result, out: Buffer.from(result.stdout).toString("utf8").trimEnd() };
}

export function probeSandbox(workers = 2): Sandbox {
  return createSandbox({ workers, wasmDir: probeWasmDir() });
}

/** Open descriptors of this process (all threads share one table). */
export function openFdCount(): number {
  return readdirSync(`/proc/${process.pid}/fd`).length;
}

/**
 * The probe metered like wasm-tools/build.sh meters read, list and stat (wasm-tools/meter.mjs),
 * beside copies of the shipped read and list modules: what may run on the main thread.
 */
export function meteredWasmDir(): string {
  const src = probeWasmDir();
  const dir = join(src, "metered");
  mkdirSync(dir, { recursive: true });
  // The shipped modules change with the checkout (this directory is shared by every checkout whose
  // probe is the same): copied again whenever they differ, through a rename (tests run in parallel).
  const shipped = new URL("../../wasm-tools/build/", import.meta.url).pathname;
  for (const m of ["read", "list"]) {
    const want = readFileSync(join(shipped, `${m}.wasm`));
    const at = join(dir, `${m}.wasm`);
    if (existsSync(at) && readFileSync(at).equals(want)) continue;
    const tmpCopy = join(dir, `${m}.${process.pid}.${Date.now()}.wasm`);
    copyFileSync(join(shipped, `${m}.wasm`), tmpCopy);
    renameSync(tmpCopy, at);
  }
  if (existsSync(join(dir, "probe.wasm"))) return dir;
  const tmp = join(dir, `probe.${process.pid}.${Date.now()}.wasm`);
  execFileSync(process.execPath, [new URL("../../wasm-tools/meter.mjs", import.meta.url).pathname, join(src, "probe.wasm"), tmp], { stdio: "pipe" });
  renameSync(tmp, join(dir, "probe.wasm"));
  return dir;
}
