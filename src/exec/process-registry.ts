import { randomBytes } from "node:crypto";
import type { Decision } from "../policy/decision.js";
import { incompleteUtf8Tail, RetainedOutput } from "./output/retained-output.js";
import type { BackendProcess, ExecBackend, ExecRequest, ExecResult } from "./types.js";

export interface ProcessRegistryOptions {
  /** policy.execution.max_background: processes alive at once. */
  maxAlive: number;
  /** policy.execution.background_output_bytes: output retained per process (stdout and stderr interleaved). */
  retainBytes: number;
  /** Largest slice one read returns. Default 1 MiB. */
  readMaxBytes?: number;
  /** Finished processes kept for reading their last output. Default 32. */
  keepFinished?: number;
}

export interface StartMeta {
  command: string;
  /** The MCP session that started it; a scoped view shows a session only its own processes. */
  owner?: string;
  /** Decides input written to the process; set by the bridge when the process is a shell. */
  inputGuard?: (input: string) => Promise<Decision>;
  /** Called once when a started process has ended (the bridge frees its command slot). */
  onEnd?: () => void;
}

export interface ProcessInfo {
  handle: string;
  command: string;
  pid: number | null;
  running: boolean;
  exit_code: number | null;
  signal: string | null;
  timed_out: boolean;
  started_at: string;
  duration_ms: number;
  /** Bytes of output produced so far (offset just past the last byte). */
  output_bytes: number;
  /** Offset of the oldest byte still retained; output before it was dropped. */
  dropped_bytes: number;
}

export interface ProcessRead extends ProcessInfo {
  output: string;
  /** Offset the returned output starts at (>= the requested offset when older output was dropped). */
  offset: number;
  next_offset: number;
}

export type RegistryRefusal = { ok: false; rule: string; reason: string };

export interface ProcessRegistry {
  start(backend: ExecBackend, request: ExecRequest, meta: StartMeta): Promise<{ ok: true; handle: string } | RegistryRefusal>;
  read(handle: string, offset?: number, maxBytes?: number): ProcessRead | null;
  write(handle: string, input: string, options?: { eof?: boolean }): Promise<{ ok: true } | RegistryRefusal>;
  kill(handle: string, signal?: NodeJS.Signals): Promise<ProcessInfo | null>;
  list(): ProcessInfo[];
  /** Kills every process (server exit); on a scoped view, only that owner's. */
  close(): Promise<void>;
  /** A view that starts processes as `owner` and sees (reads, writes, kills, lists) only those. */
  scoped(owner: string): ProcessRegistry;
}

interface Entry {
  handle: string;
  command: string;
  proc: BackendProcess;
  output: RetainedOutput;
  started: number;
  result?: ExecResult;
  inputGuard?: StartMeta["inputGuard"];
  owner?: string;
}

/**
 * Background processes of one server: a bounded number alive, bounded retained output each, read
 * incrementally by byte offset. Built per server (no module state); close() kills them all.
 */
export function createProcessRegistry(options: ProcessRegistryOptions): ProcessRegistry {
  const entries = new Map<string, Entry>();
  const readMax = options.readMaxBytes ?? 1024 * 1024;
  const keepFinished = options.keepFinished ?? 32;
  let seq = 0;
  let closed = false;

  const alive = () => [...entries.values()].filter((e) => !e.result).length;

  function info(e: Entry): ProcessInfo {
    return {
      handle: e.handle,
      command: e.command,
      pid: e.proc.pid ?? null,
      running: !e.result,
      exit_code: e.result?.exit_code ?? null,
      signal: e.result?.signal ?? null,
      timed_out: e.result?.timed_out ?? false,
      started_at: new Date(e.started).toISOString(),
      duration_ms: e.result?.duration_ms ?? Date.now() - e.started,
      output_bytes: e.output.end,
      dropped_bytes: e.output.droppedBytes,
    };
  }

  function evictFinished() {
    const finished = [...entries.values()].filter((e) => e.result);
    for (const e of finished.slice(0, Math.max(0, finished.length - keepFinished))) entries.delete(e.handle);
  }

  const view = (owner: string | undefined): ProcessRegistry => ({
    start: (backend, request, meta) => startProcess(backend, request, owner === undefined ? meta : { ...meta, owner }),
    read: (handle, offset = 0, maxBytes = readMax) => readProcess(lookup(handle, owner), offset, maxBytes),
    write: (handle, input, opts) => writeProcess(lookup(handle, owner), input, opts),
    kill: (handle, signal = "SIGTERM") => killProcess(lookup(handle, owner), signal),
    list: () => [...entries.values()].filter((e) => owner === undefined || e.owner === owner).map(info),
    close: () => closeAll(owner),
    scoped: (other) => view(other),
  });

  function lookup(handle: string, owner: string | undefined): Entry | undefined {
    const e = entries.get(handle);
    return e && (owner === undefined || e.owner === owner) ? e : undefined;
  }

  return view(undefined);

  async function startProcess(backend: ExecBackend, request: ExecRequest, meta: StartMeta): Promise<{ ok: true; handle: string } | RegistryRefusal> {
    if (closed) return { ok: false, rule: "execution.background", reason: "the server is shutting down" };
    if (alive() >= options.maxAlive) {
      return { ok: false, rule: "execution.max_background", reason: `at most ${options.maxAlive} background processes may run at once; kill one first` };
    }
    const output = new RetainedOutput(options.retainBytes);
    const handle = `p${++seq}-${randomBytes(3).toString("hex")}`;
    const proc = await backend.start({ ...request, onOutput: (_stream, chunk) => output.push(Buffer.from(chunk, "utf8")) });
    const entry: Entry = { handle, command: meta.command, proc, output, started: Date.now(), inputGuard: meta.inputGuard, ...(meta.owner ? { owner: meta.owner } : {}) };
    entries.set(handle, entry);
    void proc.done
      .then(
        (result) => {
          entry.result = result;
          evictFinished();
        },
        (err: Error) => {
          entry.result = { exit_code: null, stdout: "", stderr: "", timed_out: false, truncated: false, duration_ms: Date.now() - entry.started, error: err.message };
        },
      )
      .finally(() => meta.onEnd?.());
    return { ok: true, handle };
  }

  function readProcess(e: Entry | undefined, offset: number, maxBytes: number): ProcessRead | null {
    if (!e) return null;
    const slice = e.output.read(offset, Math.min(maxBytes, readMax));
    let bytes = slice.bytes;
    const atEnd = slice.offset + bytes.length === e.output.end;
    if (!(atEnd && e.result)) {
      // Never split a character: the rest comes with the next read.
      const cut = incompleteUtf8Tail(bytes);
      if (cut > 0 && cut < bytes.length) bytes = bytes.subarray(0, bytes.length - cut);
    }
    return { ...info(e), output: bytes.toString("utf8"), offset: slice.offset, next_offset: slice.offset + bytes.length };
  }

  async function writeProcess(e: Entry | undefined, input: string, opts?: { eof?: boolean }): Promise<{ ok: true } | RegistryRefusal> {
    if (!e) return { ok: false, rule: "process.unknown", reason: "no such process handle" };
    if (e.result) return { ok: false, rule: "process.exited", reason: "the process has exited" };
    if (e.inputGuard) {
      const decision = await e.inputGuard(input);
      if (!decision.allow) return { ok: false, rule: decision.rule, reason: decision.reason };
    }
    try {
      if (input.length > 0) await e.proc.write(input);
      if (opts?.eof) await e.proc.closeStdin();
    } catch (err) {
      return { ok: false, rule: "process.stdin", reason: (err as Error).message };
    }
    return { ok: true };
  }

  async function killProcess(e: Entry | undefined, signal: NodeJS.Signals): Promise<ProcessInfo | null> {
    if (!e) return null;
    if (!e.result) {
      await e.proc.kill(signal);
      await Promise.race([e.proc.done.catch(() => undefined), new Promise((r) => setTimeout(r, 5000))]);
    }
    return info(e);
  }

  async function closeAll(owner: string | undefined): Promise<void> {
    if (owner === undefined) closed = true;
    const running = [...entries.values()].filter((e) => !e.result && (owner === undefined || e.owner === owner));
    await Promise.all(running.map((e) => e.proc.kill("SIGKILL").catch(() => undefined)));
    await Promise.all(running.map((e) => Promise.race([e.proc.done.catch(() => undefined), new Promise((r) => setTimeout(r, 5000))])));
  }
}
