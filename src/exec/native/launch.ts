import type { Readable, Writable } from "node:stream";
import { ExecRefusal } from "../errors.js";
import { OutputCollector } from "../output/output-collector.js";
import type { BackendProcess, ExecRequest, ExecResult } from "../types.js";
import type { CommandCgroups } from "./limits.js";
import { GATE_FD, MOUNTS_RULE, openGate } from "./mount-gate.js";
import { CHANGED_RULE } from "./open-binds.js";
import type { PlannedMount } from "./mount-plan.js";
import { spawnGroup, type Spawned } from "./spawn-group.js";
import type { Spawner } from "./spawner.js";

/** The host command line that runs one request (wrapper, bubblewrap, the command itself). */
export interface LaunchPlan {
  file: string;
  args: string[];
  /** Host directory execa starts in (the sandbox has its own --chdir). */
  cwd: string;
  cgroups?: CommandCgroups;
  /** The group leader is bubblewrap (not the command): signal it only to kill. */
  sandboxed: boolean;
  /** A launcher started ahead of time (zygote.ts) and the command line to feed it; replaces file/args. */
  zygote?: { sub: Spawned; feed: string };
  /**
   * The sandbox's gate (mount-gate.ts): the command waits until its mounts were checked against
   * these, and never starts when they differ. `fds` are handed to the process from descriptor 6 on
   * (the roots, bound by descriptor); `release` closes what was opened for this command once the
   * gate is decided.
   */
  gate?: { mounts: PlannedMount[]; fds: number[]; release(): void };
}

export interface LaunchOptions {
  /** Keep stdin open for write_process_input (background); otherwise stdin is the request's or empty. */
  interactive: boolean;
  killGraceMs: number;
  /** Receives the pending cgroup cleanup so the backend can await it at close. */
  onDispose?: (pending: Promise<void>) => void;
  /** Starts the process off this event loop (spawner.ts); without one it is spawned here. */
  spawner?: Spawner | null;
}

/** The first line of a sandbox set-up failure (bubblewrap's or the mask helper's), or null. */
function setupFailure(stderr: string): string | null {
  const line = stderr.split("\n", 1)[0]!;
  return /^(bwrap|mask-attach): /.test(line) ? line.slice(0, 500) : null;
}

/** The gate's pipes as this side sees them (descriptors 3-5 of the process). */
function gateStreams(sub: Spawned): { info: Readable; ready: Readable; go: Writable } {
  const stdio = sub.stdio as unknown as (Readable & Writable)[];
  return { info: stdio[GATE_FD.info]!, ready: stdio[GATE_FD.ready]!, go: stdio[GATE_FD.go]! };
}

/**
 * Starts one process group and owns its end: the deadline (TERM to the command's processes, KILL
 * to the group and the cgroup after a grace period), cancellation, leftover processes of the group or its cgroup after the main process
 * exits, and bounded capture of stdout and stderr (head and tail kept, never the whole flood).
 */
export async function launch(plan: LaunchPlan, request: ExecRequest, options: LaunchOptions): Promise<BackendProcess> {
  const sub =
    plan.zygote?.sub ??
    (
      await spawnGroup(
      plan.file,
      plan.args,
      {
        cwd: plan.cwd,
        env: request.env,
        stdin: options.interactive || request.stdin !== undefined ? "pipe" : "ignore",
        ...(plan.gate ? { extra: ["out", "out", "in", ...plan.gate.fds] } : {}),
      },
        options.spawner,
      )
    ).sub;
  if (plan.zygote) sub.stdin?.write(plan.zygote.feed);
  const pid = sub.pid;
  const output = new OutputCollector(request);
  sub.stdout?.on("data", (chunk: Buffer) => output.push("stdout", chunk));
  sub.stderr?.on("data", (chunk: Buffer) => output.push("stderr", chunk));
  sub.stdin?.on("error", () => {}); // EPIPE when the command does not read its input
  if (request.stdin !== undefined) {
    // A background process gets its initial input and keeps stdin open for write_process_input.
    if (options.interactive) sub.stdin?.write(request.stdin);
    else sub.stdin?.end(request.stdin);
  } else if (!options.interactive && plan.zygote) {
    sub.stdin?.end(); // a zygote's stdin is a pipe: give the command EOF, as /dev/null would
  }

  let timedOut = false;
  let cancelled = false;
  let exited = false;
  let graceTimer: NodeJS.Timeout | undefined;
  const killAll = (signal: NodeJS.Signals) => {
    if (pid !== undefined) {
      try {
        process.kill(-pid, signal);
      } catch {
        // group already gone
      }
    }
    for (const p of plan.cgroups?.pids() ?? []) {
      try {
        process.kill(p, signal);
      } catch {
        // already gone
      }
    }
  };
  const terminate = (signal: NodeJS.Signals = "SIGTERM") => {
    // With a cgroup, the signal goes to the command's own processes first, not to the group
    // leader (bubblewrap, which would take the sandbox down at once): they get the grace period
    // to clean up. Without one, the whole group gets it.
    const members = (plan.cgroups?.pids() ?? []).filter((p) => !plan.sandboxed || p !== pid);
    if (members.length > 0) {
      for (const p of members) {
        try {
          process.kill(p, signal);
        } catch {
          // already gone
        }
      }
    } else {
      killAll(signal);
    }
    graceTimer ??= setTimeout(() => killAll("SIGKILL"), options.killGraceMs);
  };
  const deadline = setTimeout(() => {
    timedOut = true;
    terminate();
  }, request.timeoutMs);
  const onAbort = () => {
    cancelled = true;
    terminate();
  };
  if (request.signal?.aborted) onAbort();
  else request.signal?.addEventListener("abort", onAbort, { once: true });

  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    sub.on("exit", (code, signal) => resolve({ code, signal }));
    sub.on("error", () => resolve({ code: null, signal: null }));
  });

  // The gate: the command starts only once its sandbox matches the plan; otherwise it is killed unstarted.
  let refusal: ExecRefusal | undefined;
  const ready: Promise<void> = plan.gate
    ? openGate(
        gateStreams(sub),
        exit,
        plan.gate.mounts,
      ).then(async (verdict) => {
        plan.gate!.release();
        if (verdict.ok === false) {
          refusal = new ExecRefusal(MOUNTS_RULE, `the sandbox did not match its plan, so the command was not started: ${verdict.reason}. A directory inside a root was probably moved or replaced while the command was being prepared; run it again`);
          killAll("SIGKILL");
          throw refusal;
        }
        if (verdict.ok === "exited" && !timedOut && !cancelled) {
          // Ended before its gate: the command never ran. When bubblewrap (or the mask helper) said
          // why, that is a refusal to prepare again (a pin's path taken away on the host), never
          // the command's own output.
          const why = setupFailure((await done).stderr);
          if (why !== null) throw (refusal = new ExecRefusal(CHANGED_RULE, `the sandbox could not be set up, so the command was not started (${why}). A directory inside a root was probably moved or removed while the command was being prepared; run it again`));
        }
      })
    : Promise.resolve();
  ready.catch(() => undefined);

  const done = (async (): Promise<ExecResult> => {
    const { code, signal } = await exit;
    exited = true;
    clearTimeout(deadline);
    request.signal?.removeEventListener("abort", onAbort);
    // Whatever the command left behind in its group or cgroup goes with it.
    killAll("SIGKILL");
    const settled = (await Promise.race([
      sub.then(
        (r) => r,
        () => undefined,
      ),
      new Promise<undefined>((r) => setTimeout(() => r(undefined), 1000)),
    ])) as { failed?: boolean; shortMessage?: string } | undefined;
    if (settled === undefined) {
      sub.stdout?.destroy();
      sub.stderr?.destroy();
    }
    clearTimeout(graceTimer);
    // The kernel empties a cgroup a few ms after the last exit: remove it off the reply's path.
    if (plan.cgroups) options.onDispose?.(plan.cgroups.dispose());
    const startError = settled?.failed && code === null && !timedOut && !cancelled ? settled.shortMessage : undefined;
    return output.result({
      exit_code: timedOut || cancelled ? null : code,
      signal: signal ?? null,
      timed_out: timedOut,
      ...(cancelled ? { error: "cancelled" } : startError ? { error: startError } : {}),
    });
  })();

  return {
    pid,
    ready,
    async write(input: string) {
      if (exited || !sub.stdin || sub.stdin.destroyed) throw new Error("the process no longer reads input");
      await new Promise<void>((resolve, reject) => sub.stdin!.write(input, (e) => (e ? reject(e) : resolve())));
    },
    async closeStdin() {
      sub.stdin?.end();
    },
    async kill(signal: NodeJS.Signals = "SIGTERM") {
      if (exited) return;
      if (signal === "SIGKILL") killAll("SIGKILL");
      else terminate(signal);
    },
    done,
  };
}
