import { movedMessage, pathLeadsTo } from "../../config/held-roots.js";
import { ExecRefusal } from "../errors.js";
import { failedResult } from "../output/output-collector.js";
import type { BackendProcess, ExecRequest, ExecResult, Placement } from "../types.js";
import type { FromNode, WireRequest } from "./protocol.js";
import { SessionStep } from "./session-step.js";
import { prepareMarkers } from "./shared-fs-check.js";
import { allocate, cancel, type SlurmSettings } from "./slurm-cli.js";

/** What a session needs besides the Slurm settings. */
export interface SessionOptions {
  settings: SlurmSettings;
  /** Tag written into the job's comment (slurm-cli.ts ownerTag). */
  tag: string;
  /** argv after srun's options: node, node-main.js and its flags. */
  nodeCommand: string[];
  /** How long the node has, past a command's own deadline and kill grace, before the step is cancelled. Default 15 s. */
  watchdogMs?: number;
  /** How long the step may take to start and say hello. Default 60 s. */
  helloTimeoutMs?: number;
}

/**
 * One MCP session's allocation and its long step. Commands go to the step as frames; the node runs
 * them with the native backend. When the step dies, every call in flight fails with why, and the
 * session is over: the backend opens a new one (a new allocation) for the next command.
 */
export class SlurmSession {
  private readonly held = new Set<string>();
  private holding: Promise<void> = Promise.resolve();
  private constructor(
    private readonly options: SessionOptions,
    readonly job: string,
    readonly step: SessionStep,
    readonly placement: Placement,
  ) {}

  /** Allocates (salloc --no-shell --immediate), starts the step and waits for the node to answer. */
  static async open(options: SessionOptions): Promise<SlurmSession> {
    const s = options.settings;
    const granted = await allocate(s, options.tag);
    if (!granted.ok) throw new ExecRefusal("slurm.allocation", granted.error);
    const args = ["--jobid", granted.job, "--overlap", "-N1", "-n1", "--export=NONE", "--kill-on-bad-exit=1", ...(s.cpus ? [`--cpus-per-task=${s.cpus}`] : []), ...options.nodeCommand];
    const step = new SessionStep(s.srun, args, { ...s.env });
    let timer: NodeJS.Timeout | undefined;
    try {
      const hello = await Promise.race([
        step.hello,
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`the step did not start within ${(options.helloTimeoutMs ?? 60_000) / 1000} s`)), options.helloTimeoutMs ?? 60_000);
        }),
      ]);
      if (hello.confinement === "unavailable") throw new Error(`bubblewrap cannot confine commands on node ${hello.node}: ${hello.detail ?? ""} (install bubblewrap on the compute nodes and allow unprivileged user namespaces)`);
      const cluster = hello.cluster.split(":")[0] ?? "";
      return new SlurmSession(options, granted.job, step, { cluster, job: granted.job, step: hello.step, node: hello.node });
    } catch (err) {
      await step.stop(1000);
      await cancel(s, granted.job);
      throw new ExecRefusal("slurm.step", `Slurm job ${granted.job} was granted, but its session step failed: ${(err as Error).message}`);
    } finally {
      clearTimeout(timer);
    }
  }

  get alive(): boolean {
    return this.step.ended === undefined;
  }

  /** Roots the node has not checked yet are proven the same directory there first (shared filesystem). */
  private ensureRoots(roots: ExecRequest["roots"]): Promise<void> {
    const next = this.holding.then(async () => {
      // A root whose path leads elsewhere now is refused by name here, as the native backend does.
      for (const r of roots) if (r.held && !pathLeadsTo(r.path, r.held)) throw new ExecRefusal("roots.moved", movedMessage(r.path));
      const missing = roots.filter((r) => !this.held.has(r.path));
      if (missing.length === 0) return;
      const markers = prepareMarkers(missing);
      try {
        const answer = await this.step.request<Extract<FromNode, { t: "held" }>>((id) => ({ t: "hold", id, roots: markers.roots }));
        if (!answer.ok) {
          throw new ExecRefusal("slurm.shared_filesystem", `node ${this.placement.node} (job ${this.job}) does not see the roots as this server does: ${answer.error}`);
        }
      } finally {
        markers.cleanup();
      }
      for (const r of missing) this.held.add(r.path);
    });
    this.holding = next.catch(() => undefined);
    return next;
  }

  /** Runs one command (foreground) or starts one (background) in the step. */
  async launch(request: ExecRequest, interactive: boolean): Promise<BackendProcess & { refusal(): ExecRefusal | undefined }> {
    const started = Date.now();
    await this.ensureRoots(request.roots);
    const step = this.step;
    const wire: WireRequest = {
      argv: request.argv,
      ...(request.script !== undefined ? { script: request.script } : {}),
      cwd: request.cwd,
      env: request.env,
      ...(request.stdin !== undefined ? { stdin: request.stdin } : {}),
      timeoutMs: request.timeoutMs,
      outputCapBytes: request.outputCapBytes,
      limits: request.limits,
      roots: request.roots.map((r) => ({ path: r.path, writable: r.writable })),
      ...(request.denyGlobs ? { denyGlobs: request.denyGlobs } : {}),
      ...(request.denyScanLimit !== undefined ? { denyScanLimit: request.denyScanLimit } : {}),
      ...(request.denyScanBudgetMs !== undefined ? { denyScanBudgetMs: request.denyScanBudgetMs } : {}),
      stream: request.onOutput !== undefined,
      interactive,
    };
    let settleReady: (err?: Error) => void = () => {};
    const ready = new Promise<void>((resolve, reject) => (settleReady = (err) => (err ? reject(err) : resolve())));
    ready.catch(() => undefined);
    let finish: (r: ExecResult) => void = () => {};
    const done = new Promise<ExecResult>((r) => (finish = r));
    let watchdog: NodeJS.Timeout | undefined;
    let refusal: ExecRefusal | undefined;
    let offEnd = () => {};
    const end = (r: ExecResult) => {
      clearTimeout(watchdog);
      offEnd();
      step.forget(id);
      request.signal?.removeEventListener("abort", onAbort);
      settleReady(new Error(r.error ?? "ended"));
      finish({ ...r, placement: this.placement });
    };
    const id = step.open((f) => {
      if (f.t === "ready") settleReady();
      else if (f.t === "out") request.onOutput?.(f.stream, f.data);
      else if (f.t === "done") end(f.result);
      else if (f.t === "refused") {
        refusal = new ExecRefusal(f.rule, f.reason);
        settleReady(refusal);
        end(failedResult(f.reason, started));
      } else if (f.t === "error") end(failedResult(`on node ${this.placement.node}: ${f.error}`, started));
    });
    offEnd = step.onEnd((why) => end(failedResult(`${why}. Job ${this.job} on node ${this.placement.node} is gone; the next command gets a new allocation`, started)));
    const kill = (signal: NodeJS.Signals) => step.send({ t: "kill", id, signal });
    const onAbort = () => kill("SIGTERM");
    request.signal?.addEventListener("abort", onAbort, { once: true });
    if (!interactive) {
      // The node enforces the deadline (TERM, grace, KILL of the command's cgroup); if it does not
      // answer well after that, the whole step is cancelled, which kills everything in it.
      watchdog = setTimeout(() => {
        void cancel(this.options.settings, `${this.job}.${this.placement.step}`, "KILL");
        void step.stop(1000);
      }, request.timeoutMs + 2000 + (this.options.watchdogMs ?? 15_000));
    }
    step.send({ t: "start", id, request: wire });
    return {
      ready,
      write: async (input) => {
        if (!this.alive) throw new Error("the process no longer reads input (its Slurm step ended)");
        step.send({ t: "write", id, data: input });
      },
      closeStdin: async () => step.send({ t: "close-stdin", id }),
      kill: async (signal = "SIGTERM") => kill(signal),
      done,
      refusal: () => refusal,
    };
  }

  async which(program: string, path: string[]): Promise<string | null> {
    const f = await this.step.request<Extract<FromNode, { t: "which" }>>((id) => ({ t: "which", id, program, path }));
    return f.path;
  }

  /**
   * Releases the allocation: scancel of the job first (a few ms; the node's runner gets SIGTERM,
   * kills its commands and removes its cgroups, and slurmd kills whatever is left in the step's
   * cgroup KillWait seconds later), then the srun that carried the step is waited for (bounded).
   */
  async release(): Promise<void> {
    await cancel(this.options.settings, this.job);
    await this.step.stop(5000);
  }
}
