import { closeSync, constants, fstatSync, openSync, readFileSync } from "node:fs";
import { createInterface } from "node:readline";
import { RootHolder } from "../../config/held-roots.js";
import { ExecRefusal } from "../errors.js";
import { ownCgroups } from "../native/limits.js";
import { createNativeBackend } from "../native/index.js";
import { whichSync } from "../native/which.js";
import type { BackendProcess, ExecRequest } from "../types.js";
import { MARKER_PREFIX, parseFrame, type FromNode, type HoldRoot, type ToNode, type WireRequest } from "./protocol.js";

/** Largest marker file read back (they hold a few dozen bytes). */
const MARKER_MAX = 4096;

export interface NodeRunnerOptions {
  confinement: "bubblewrap" | "none";
  input: NodeJS.ReadableStream;
  send: (frame: FromNode) => void;
  env: NodeJS.ProcessEnv;
  /** Ends the runner as if its input had ended (SIGTERM from slurmstepd: the job was cancelled). */
  signal?: AbortSignal;
}

/**
 * The session's step on the compute node: THE native backend (same mount plan by descriptor, gate,
 * mount check, masks, environment and limits; its command cgroups nested in this step's, so
 * everything stays inside the allocation), driven by frames from the server. Roots are held here by
 * descriptor once the server proved, with a marker file, that this path is the same directory.
 * Ends, killing every command, when its input ends (the server went away or cancelled the step).
 */
export async function runNode(options: NodeRunnerOptions): Promise<void> {
  const native = createNativeBackend({ confinement: options.confinement, cgroupsWithin: ownCgroups() });
  const holder = new RootHolder();
  const held = new Set<string>();
  const procs = new Map<number, { proc?: BackendProcess; abort: AbortController; pendingKill?: NodeJS.Signals }>();
  const send = options.send;
  const d = native.describe();
  send({
    t: "hello",
    node: options.env.SLURMD_NODENAME ?? "unknown",
    job: options.env.SLURM_JOB_ID ?? "",
    step: options.env.SLURM_STEP_ID ?? "",
    cluster: options.env.SLURM_CLUSTER_NAME ?? options.env.SLURM_WORKING_CLUSTER ?? "",
    confinement: d.confinement,
    ...(d.detail ? { detail: d.detail } : {}),
    pid: process.pid,
  });

  function hold(roots: HoldRoot[]): string | null {
    for (const r of roots) {
      if (held.has(r.path)) continue;
      let dir;
      try {
        dir = holder.hold(r.path);
      } catch (err) {
        return `root ${r.path} cannot be opened on this node (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`;
      }
      if (dir.ino !== r.ino) return `root ${r.path} is another directory on this node (inode ${dir.ino}, the server holds ${r.ino}): roots must be on a filesystem shared at the same path on every node`;
      const why = r.marker ? checkMarker(dir.fd, r.marker) : checkTimes(dir.fd, r.times);
      if (why) return `root ${r.path}: ${why}`;
      held.add(r.path);
    }
    return null;
  }

  function toRequest(w: WireRequest, signal: AbortSignal, id: number): ExecRequest {
    const roots = w.roots.map((r) => {
      if (!held.has(r.path)) throw new ExecRefusal("slurm.roots", `root ${r.path} was not checked on this node`);
      return { ...r, held: holder.hold(r.path) };
    });
    const { stream, interactive: _interactive, ...rest } = w;
    return {
      ...rest,
      roots,
      signal,
      ...(stream ? { onOutput: (s: "stdout" | "stderr", data: string) => data && send({ t: "out", id, stream: s, data }) } : {}),
    };
  }

  async function start(id: number, w: WireRequest): Promise<void> {
    const entry = { abort: new AbortController() } as { proc?: BackendProcess; abort: AbortController; pendingKill?: NodeJS.Signals };
    procs.set(id, entry);
    try {
      const request = toRequest(w, entry.abort.signal, id);
      if (w.interactive) {
        const proc = await native.start(request);
        entry.proc = proc;
        send({ t: "ready", id });
        if (entry.pendingKill) void proc.kill(entry.pendingKill);
        send({ t: "done", id, result: await proc.done });
      } else {
        const run = native.run(request);
        send({ t: "ready", id });
        send({ t: "done", id, result: await run });
      }
    } catch (err) {
      if (err instanceof ExecRefusal) send({ t: "refused", id, rule: err.rule, reason: err.message });
      else send({ t: "error", id, error: (err as Error).message });
    } finally {
      procs.delete(id);
    }
  }

  const lines = createInterface({ input: options.input, crlfDelay: Infinity });
  options.signal?.addEventListener("abort", () => lines.close(), { once: true });
  for await (const line of lines) {
    const f = parseFrame<ToNode>(line);
    if (!f) continue;
    switch (f.t) {
      case "hold": {
        const error = hold(f.roots);
        send(error ? { t: "held", id: f.id, ok: false, error } : { t: "held", id: f.id, ok: true });
        break;
      }
      case "start":
        void start(f.id, f.request);
        break;
      case "write": {
        const p = procs.get(f.id)?.proc;
        if (p) void p.write(f.data).catch(() => undefined);
        break;
      }
      case "close-stdin":
        void procs.get(f.id)?.proc?.closeStdin();
        break;
      case "kill": {
        const entry = procs.get(f.id);
        if (!entry) break;
        if (entry.proc) void entry.proc.kill(f.signal);
        else {
          entry.pendingKill = f.signal;
          entry.abort.abort(); // a foreground command: the native backend's own TERM, grace, KILL
        }
        break;
      }
      case "which":
        send({ t: "which", id: f.id, path: whichSync(f.program, f.path) });
        break;
    }
  }
  // Input ended: the server is gone or released the session. Nothing it started may outlive it.
  await native.close();
  holder.close();
}

/** Reads the marker through the held descriptor (no path lookup outside the root) and compares. */
function checkMarker(dirFd: number, marker: { name: string; content: string }): string | null {
  if (!marker.name.startsWith(MARKER_PREFIX) || marker.name.includes("/")) return "bad marker name";
  let fd: number;
  try {
    fd = openSync(`/proc/self/fd/${dirFd}/${marker.name}`, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch {
    return `the marker file the server wrote (${marker.name}) is not there: this node does not see the same directory at this path (roots must be on a filesystem shared at the same path on every node)`;
  }
  try {
    if (!fstatSync(fd).isFile()) return "the marker is not a regular file";
    const text = readFileSync(fd, "utf8").slice(0, MARKER_MAX);
    return text === marker.content ? null : "the marker file differs: this node sees another directory at this path (roots must be on a shared filesystem)";
  } finally {
    closeSync(fd);
  }
}

/** Without a marker (a root the server cannot write): the directory's times must agree. */
function checkTimes(dirFd: number, times: HoldRoot["times"]): string | null {
  if (!times) return "no marker and no times to compare";
  const st = fstatSync(dirFd);
  if (Math.round(st.mtimeMs) !== Math.round(times.mtimeMs) || Math.round(st.ctimeMs) !== Math.round(times.ctimeMs)) {
    return "its modification times differ from the server's: this node does not see the same directory (roots must be on a filesystem shared at the same path on every node)";
  }
  return null;
}
