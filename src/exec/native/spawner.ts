import { spawn, type ChildProcess } from "node:child_process";
import { EventEmitter } from "node:events";
import { constants, existsSync, openSync } from "node:fs";
import { Socket } from "node:net";
import { constants as osConstants } from "node:os";
import { join } from "node:path";
import type { Readable, Writable } from "node:stream";
import { packageRoot } from "../../config/package-root.js";
import type { Spawned } from "./spawn-group.js";

/**
 * A descriptor from 3 on: "in" a pipe the process reads, "out" one it writes, a number: that
 * descriptor of this process (reopened read-only by the spawner through /proc/<server>/fd/N).
 */
export type ExtraFd = "in" | "out" | number;

export interface SpawnSpec {
  file: string;
  args: string[];
  env: Record<string, string>;
  cwd?: string;
  stdin: "pipe" | "ignore";
  extra: ExtraFd[];
}

/** Starts processes through the spawner (native/spawner.c), not by a fork of this process. */
export interface Spawner {
  /** Wrapped: a Spawned is itself awaitable (it settles when the process has ended). */
  spawn(spec: SpawnSpec): Promise<{ sub: Spawned }>;
  /** The running spawner's pid (undefined before the first start or after it died). */
  readonly pid: number | undefined;
  close(): void;
}

/** Where `npm run build` puts the spawner (scripts/build.mjs, beside mask-attach); absent without a C compiler. */
export const spawnerBinary = (): string => join(packageRoot(import.meta.url), "native", "build", "spawner");

const signalName = (n: number): NodeJS.Signals | null =>
  (Object.entries(osConstants.signals).find(([, v]) => v === n)?.[0] as NodeJS.Signals | undefined) ?? null;

/** A process the spawner started, seen like a ChildProcess (the parts launch.ts and zygote.ts use). */
class RemoteChild extends EventEmitter {
  pid: number | undefined;
  exitCode: number | null = null;
  signalCode: NodeJS.Signals | null = null;
  stdin: Writable | null = null;
  stdout: Readable | null = null;
  stderr: Readable | null = null;
  stdio: (Readable | Writable | null)[] = [];
  private failure: string | undefined;
  private ended = false;
  private readonly settled: Promise<{ failed: boolean; shortMessage?: string; exitCode: number | null }>;
  private finish!: () => void;

  constructor() {
    super();
    const exited = new Promise<void>((resolve) => (this.finish = resolve));
    this.settled = exited.then(async () => {
      // Like execa: settled once the process has exited and its output pipes are drained.
      await Promise.all([this.stdout, this.stderr].map((s) => (s && !s.destroyed ? new Promise((r) => s.once("close", r)) : undefined)));
      const failed = this.failure !== undefined || this.exitCode !== 0;
      const shortMessage = this.failure ?? (this.signalCode ? `Command was killed with ${this.signalCode}` : `Command failed with exit code ${this.exitCode}`);
      return { failed, shortMessage, exitCode: this.exitCode };
    });
  }

  then<A = unknown, B = never>(ok?: ((v: unknown) => A | PromiseLike<A>) | null, bad?: ((e: unknown) => B | PromiseLike<B>) | null): PromiseLike<A | B> {
    return this.settled.then(ok, bad);
  }

  /**
   * Its end is told on a later turn, never in the one that handed it out: whoever awaited the
   * spawn has then attached its listeners (a ChildProcess, returned synchronously, never emits early).
   */
  exited(code: number | null, signal: NodeJS.Signals | null): void {
    if (this.ended) return;
    this.ended = true;
    setImmediate(() => {
      this.exitCode = code;
      this.signalCode = signal;
      this.emit("exit", code, signal);
      this.finish();
    });
  }

  failed(message: string): void {
    if (this.ended) return;
    this.ended = true;
    this.failure = message;
    for (const s of this.stdio) s?.destroy();
    setImmediate(() => {
      const err = Object.assign(new Error(message), { shortMessage: message });
      if (this.listenerCount("error") > 0) this.emit("error", err);
      this.finish();
    });
  }
}

/** One of the spawner's pipe ends, reopened here as a non-blocking stream. */
function reopen(spawnerPid: number, fd: number, childReads: boolean): Socket {
  const path = `/proc/${spawnerPid}/fd/${fd}`;
  let own: number;
  if (childReads) {
    try {
      own = openSync(path, constants.O_WRONLY | constants.O_NONBLOCK);
    } catch (err) {
      // ENXIO: the process has already closed its end (it exited): keep a reader so writes go nowhere.
      if ((err as NodeJS.ErrnoException).code !== "ENXIO") throw err;
      own = openSync(path, constants.O_RDWR | constants.O_NONBLOCK);
    }
    return new Socket({ fd: own, readable: false, writable: true });
  }
  own = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  return new Socket({ fd: own, readable: true, writable: false });
}

const encode = (fields: string[]): Buffer => {
  const body = Buffer.from(fields.map((f) => `${f}\0`).join(""), "utf8");
  const head = Buffer.alloc(4);
  head.writeUInt32LE(body.length);
  return Buffer.concat([head, body]);
};

/**
 * The spawner: a small long-lived process (native/spawner.c, ~1 MiB) started once, which forks the
 * launchers and commands. A fork costs in proportion to the forking process's memory: from this
 * server (tens to hundreds of MiB) it held the event loop 6-17 ms per command; from the spawner it
 * costs the spawner, off our loop. Its processes are session and group leaders as with
 * spawnGroup's own spawn, their pipes reach us through /proc/<spawner>/fd, their exit status
 * comes back as a line. If it dies, every process it started that is still running is killed
 * and ends with an error saying so (its exit status can no longer be known), requests still
 * waiting fail the same way, and the next spawn starts a new spawner. Null when the binary is
 * absent: the caller then spawns in this process.
 */
export function createSpawner(binary = spawnerBinary()): Spawner | null {
  if (process.platform !== "linux" || !existsSync(binary)) return null;
  let proc: ChildProcess | undefined;
  let seq = 0;
  let closed = false;
  const pending = new Map<string, { spec: SpawnSpec; resolve: (c: { sub: Spawned }) => void }>();
  const live = new Map<number, RemoteChild>();

  const ensure = (): ChildProcess => {
    if (proc) return proc;
    const p = spawn(binary, [], { stdio: ["pipe", "pipe", "ignore"], env: {} });
    proc = p;
    let buffered = "";
    p.stdout!.setEncoding("utf8");
    p.stdout!.on("data", (chunk: string) => {
      buffered += chunk;
      let nl: number;
      while ((nl = buffered.indexOf("\n")) >= 0) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        onLine(p, line);
      }
    });
    p.stdin!.on("error", () => {});
    const died = (why: string) => {
      if (proc !== p) return;
      proc = undefined;
      const message = `the launcher spawner (pid ${p.pid ?? "?"}) ${why}, so the command was stopped: its exit status can no longer be known; run it again (a new spawner starts)`;
      for (const [id, waiting] of pending) {
        pending.delete(id);
        const child = new RemoteChild();
        waiting.resolve({ sub: child as unknown as Spawned });
        child.failed(message);
      }
      for (const [pid, child] of live) {
        live.delete(pid);
        try {
          process.kill(-pid, "SIGKILL");
        } catch {
          // gone
        }
        child.failed(message);
      }
    };
    p.on("exit", (code, signal) => died(signal ? `was killed (${signal})` : `exited (code ${code})`));
    p.on("error", (err) => died(`could not run (${err.message})`));
    return p;
  };

  function onLine(p: ChildProcess, line: string) {
    const [kind, a, ...rest] = line.split(" ");
    if (kind === "P" || kind === "F") {
      const waiting = pending.get(a!);
      if (!waiting) return;
      pending.delete(a!);
      const child = new RemoteChild();
      if (kind === "F") {
        const errno = Number(rest[0]);
        const code = Object.entries(osConstants.errno).find(([, v]) => v === errno)?.[0] ?? `errno ${errno}`;
        waiting.resolve({ sub: child as unknown as Spawned });
        child.failed(`spawn ${waiting.spec.file} ${code}`);
        return;
      }
      const [pid, ...fds] = rest.map(Number);
      child.pid = pid;
      live.set(pid!, child);
      try {
        fds.forEach((fd, i) => {
          const s = fd < 0 ? null : reopen(p.pid!, fd, i === 0 || waiting.spec.extra[i - 3] === "in");
          s?.on("error", () => {});
          child.stdio.push(s);
        });
      } catch (err) {
        // Could not take its pipes: it must not run unwatched.
        try {
          process.kill(-pid!, "SIGKILL");
        } catch {
          // gone
        }
        live.delete(pid!);
        child.failed(`the launcher spawner's pipes could not be opened (${(err as Error).message})`);
      }
      p.stdin!.write(encode(["R", a!]));
      [child.stdin, child.stdout, child.stderr] = child.stdio as [Writable | null, Readable | null, Readable | null];
      waiting.resolve({ sub: child as unknown as Spawned });
    } else if (kind === "X") {
      const pid = Number(a);
      const child = live.get(pid);
      if (!child) return;
      live.delete(pid);
      const code = Number(rest[0]);
      child.exited(code < 0 ? null : code, code < 0 ? signalName(Number(rest[1])) : null);
    }
  }

  return {
    get pid() {
      return proc?.pid;
    },
    spawn(spec: SpawnSpec): Promise<{ sub: Spawned }> {
      if (closed) throw new Error("the launcher spawner is closed");
      // Fields travel NUL-ended; execa refuses such arguments the same way.
      if ([spec.file, spec.cwd ?? "", ...spec.args, ...Object.keys(spec.env), ...Object.values(spec.env)].some((f) => f.includes("\0"))) {
        return Promise.reject(new TypeError("an argument, the working directory or an environment variable contains a NUL byte"));
      }
      const p = ensure();
      const id = String(++seq);
      const env = Object.entries(spec.env).map(([k, v]) => `${k}=${v}`);
      const extra = spec.extra.map((e) => (e === "in" ? "r" : e === "out" ? "w" : String(e)));
      const fields = ["S", id, spec.cwd ?? "", spec.stdin === "pipe" ? "p" : "n", String(extra.length), ...extra, String(spec.args.length + 1), spec.file, ...spec.args, String(env.length), ...env];
      return new Promise<{ sub: Spawned }>((resolve) => {
        pending.set(id, { spec, resolve });
        p.stdin!.write(encode(fields));
      });
    },
    close() {
      closed = true;
      const p = proc;
      proc = undefined;
      p?.stdin?.end();
      p?.stdout?.destroy();
      if (p) p.unref();
    },
  };
}
