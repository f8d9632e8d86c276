import { randomBytes } from "node:crypto";
import { Writable } from "node:stream";
import type Docker from "dockerode";
import { OutputCollector } from "../output/output-collector.js";
import { isEnvName } from "../shell-quote.js";
import type { BackendProcess, ExecRequest, ExecResult } from "../types.js";

/**
 * The wrapper every exec runs under: it records its pid (a process group and session leader under
 * docker exec) in the container's private /tmp, then becomes the command with exactly the request's
 * environment. The Engine API cannot kill one exec, so a timeout or kill runs a second exec that
 * signals that process group.
 */
const WRAPPER = 'echo $$ > "/tmp/.warden-$1.pid" || exit 125; shift; exec env -i "$@"';
// Fork-free (builtins only): it must work when the command used up the container's pids limit.
const KILLER = 'read p < "/tmp/.warden-$1.pid" 2>/dev/null || exit 0; kill -$2 -"$p" 2>/dev/null || kill -$2 "$p" 2>/dev/null; [ "$2" = KILL ] && rm -f "/tmp/.warden-$1.pid"; exit 0';

export interface ExecContext {
  docker: Docker;
  containerId: string;
  user: string;
  killGraceMs: number;
  /** Last resort when a killed command is still running (the killer could not start): restart the container. */
  onStuck?: () => Promise<void>;
}

/** Starts one command as a docker exec; `interactive` keeps stdin open for write(). */
export async function startExec(ctx: ExecContext, request: ExecRequest, interactive: boolean): Promise<BackendProcess> {
  const id = randomBytes(8).toString("hex");
  const command = request.script !== undefined ? [request.argv[0]!, "-c", request.script] : request.argv;
  const env = Object.entries(request.env)
    .filter(([k]) => isEnvName(k))
    .map(([k, v]) => `${k}=${v}`);
  const container = ctx.docker.getContainer(ctx.containerId);
  const wantsStdin = interactive || request.stdin !== undefined;
  const exec = await container.exec({
    Cmd: ["/bin/sh", "-c", WRAPPER, "warden-exec", id, ...env, ...command],
    WorkingDir: request.cwd,
    User: ctx.user,
    AttachStdout: true,
    AttachStderr: true,
    AttachStdin: wantsStdin,
    Tty: false,
  });
  const stream = (await exec.start({ hijack: true, stdin: wantsStdin })) as NodeJS.ReadWriteStream & { destroy(): void; end(): void };
  const output = new OutputCollector(request);
  const sink = (name: "stdout" | "stderr") =>
    new Writable({
      write(chunk: Buffer, _enc, cb) {
        output.push(name, chunk);
        cb();
      },
    });
  ctx.docker.modem.demuxStream(stream, sink("stdout"), sink("stderr"));
  if (wantsStdin && request.stdin !== undefined) stream.write(request.stdin);
  if (wantsStdin && !interactive) stream.end();

  let timedOut = false;
  let finished = false;
  let killed = false;
  const kill = async (signal: NodeJS.Signals = "SIGTERM") => {
    if (finished) return;
    killed = true;
    await sendSignal(ctx, id, signal.replace(/^SIG/, ""));
  };
  const stop = () => {
    void kill("SIGTERM").catch(() => {});
    const hard = setTimeout(() => void kill("SIGKILL").catch(() => {}), ctx.killGraceMs);
    const stuck = setTimeout(() => void (finished ? undefined : ctx.onStuck?.().catch(() => {})), ctx.killGraceMs + 3000);
    hard.unref();
    stuck.unref();
  };
  const timer = setTimeout(() => {
    timedOut = true;
    stop();
  }, request.timeoutMs);
  const onAbort = () => stop();
  request.signal?.addEventListener("abort", onAbort, { once: true });

  const done = new Promise<ExecResult>((resolve) => {
    let settled = false;
    const finish = async (error?: string) => {
      if (settled) return;
      settled = true;
      finished = true;
      clearTimeout(timer);
      request.signal?.removeEventListener("abort", onAbort);
      const info = await inspectUntilStopped(exec);
      // What the command left running in its process group goes with it (as bubblewrap's
      // --die-with-parent does for the native backend). After a kill the caller waits for it (the
      // processes are really gone when the result arrives); after a normal exit it is not on the
      // result's path.
      const sweep = sendSignal(ctx, id, "KILL").catch(() => false);
      // After a kill, what the command left must really be gone: when even the killer could not
      // start (a fork flood holds the container's pids limit), restart the container.
      if (killed && !(await sweep)) await ctx.onStuck?.().catch(() => {});
      const code = info?.ExitCode ?? null;
      // Docker reports death by signal as 128+n; only trust that reading when we sent a signal.
      const signal = killed && code !== null && code > 128 && code < 160 ? signalName(code - 128) : null;
      resolve(
        output.result({
          exit_code: signal ? null : code,
          signal,
          timed_out: timedOut,
          ...(error ? { error } : code === 125 && !info ? { error: "docker exec failed" } : {}),
        }),
      );
    };
    stream.on("end", () => void finish());
    stream.on("close", () => void finish());
    stream.on("error", (err: Error) => void finish(`docker exec stream: ${err.message}`));
  });

  return {
    write: async (input: string) => {
      stream.write(input);
    },
    closeStdin: async () => {
      stream.end();
    },
    kill,
    done,
  };
}

/**
 * Signals the process group of exec `id` from a second exec (same user: no capability needed).
 * Resolves whether the killer ran to its end (false: the runtime could not start it, or it did not
 * finish within a second).
 */
async function sendSignal(ctx: ExecContext, id: string, sig: string): Promise<boolean> {
  const killer = await ctx.docker.getContainer(ctx.containerId).exec({ Cmd: ["/bin/sh", "-c", KILLER, "warden-kill", id, sig], User: ctx.user, AttachStdout: false, AttachStderr: false });
  await killer.start({ Detach: true });
  const info = await inspectUntilStopped(killer);
  return info?.ExitCode === 0;
}

async function inspectUntilStopped(exec: Docker.Exec): Promise<{ ExitCode: number | null } | null> {
  for (let i = 0; i < 50; i++) {
    try {
      const info = await exec.inspect();
      if (!info.Running) return { ExitCode: info.ExitCode };
    } catch {
      return null;
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  return null;
}

const SIGNALS: Record<number, string> = { 1: "SIGHUP", 2: "SIGINT", 3: "SIGQUIT", 6: "SIGABRT", 9: "SIGKILL", 13: "SIGPIPE", 14: "SIGALRM", 15: "SIGTERM" };
function signalName(n: number): string | null {
  return SIGNALS[n] ?? null;
}
