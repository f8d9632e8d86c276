import { spawnSync } from "node:child_process";
import { rmdir } from "node:fs/promises";
import { randomBytes } from "node:crypto";
import { ExecRefusal } from "../errors.js";
import type { BackendProcess, ExecBackend, ExecRequest, ExecResult } from "../types.js";
import { commandMounts, prepareAgainWhenMoved, warmMounts } from "./command-mounts.js";
import { createDenyMaskCache, type DenyMaskCache } from "./deny-masks.js";
import { readHostLayout, type HostLayout } from "./host-layout.js";
import { launch, type LaunchPlan } from "./launch.js";
import { maskAttachWords, probeMaskAttach, type MaskAttachMode } from "./mask-attach.js";
import { createMaskSources } from "./mask-sources.js";
import { GATE_BWRAP_ARGS, GATE_FD, gatedCommand } from "./mount-gate.js";
import { workspaceNamespace, type WorkspaceNamespace } from "./namespace.js";
import { createCommandCgroups, detectCgroups, limitsPrologue, type CgroupBases } from "./limits.js";
import { createSpawner } from "./spawner.js";
import { whichSync } from "./which.js";
import { limitsKey, spawnZygote, ZYGOTE_MAX_FDS, zygoteFeed, type Zygote } from "./zygote.js";

export interface NativeBackendOptions {
  /** policy.execution.confinement: `bubblewrap` (default) or an explicit `none`. */
  confinement: "bubblewrap" | "none";
  /** Grace period between TERM and KILL when a command is stopped. Default 2000 ms. */
  killGraceMs?: number;
  /** Where to look for bwrap. Default: /usr/bin, /usr/local/bin, /bin. */
  bwrapSearchPath?: string[];
  /** Use writable cgroups v1 for memory and processes when present. Default true. */
  cgroups?: boolean;
  /** Nest the command cgroups under these (relative) cgroups of this process: a Slurm step's (limits.ts ownCgroups). */
  cgroupsWithin?: Partial<Record<"memory" | "pids", string>>;
  /** Keep one launcher ready with its cgroups joined (zygote.ts). Default true. */
  prestart?: boolean;
  /** The filesystem.deny index (deny-masks.ts); default: one of its own (tests pass theirs to watch it). */
  denyMaskCache?: DenyMaskCache;
  /** The deny-mask helper (mask-attach.ts); default: the one built beside the package, if it works here. */
  maskAttach?: MaskAttachMode;
  /** Fork launchers and commands in the spawner (spawner.ts), off the event loop, when it is built. Default true. */
  spawner?: boolean;
}

export { WORKSPACE_GONE_RULE } from "./namespace.js";

/** What the native backend will actually do, for describe() and get_system_info. */
export type NativeMode = { confinement: "bubblewrap"; bwrap: string; masks: MaskAttachMode } | { confinement: "none" } | { confinement: "unavailable"; why: string };

const WRAPPER_SHELL = "/bin/sh";
/** How often a zygote waiting in a workspace's namespace checks that the workspace's holder still runs. */
const HOLDER_WATCH_MS = 1000;
/** Keys (limits and namespace) a launcher is kept ready for. */
const MAX_READY = 4;
/**
 * A used launcher's replacement is made once its command has ended, not beside it: making one
 * (a fork of this process, cgroups joined, and in a workspace's namespace an `nsenter` exec) costs
 * as much CPU as a short command's whole sandbox, and on a busy machine the two fought for the same
 * cores (overlay mode lost most: its launcher costs the most). A command still running after this
 * long gets its replacement anyway, so a command that comes meanwhile (a background one is running)
 * still finds one.
 */
const PRESTART_LATEST_MS = 250;

/**
 * Runs commands on this host with execa: argv directly, a shell only for an approved script,
 * inside bubblewrap unless the policy explicitly says `none`. When bubblewrap is wanted but does not
 * work here, every command is refused (rule `execution.confinement`) rather than run unconfined.
 */
export function createNativeBackend(options: NativeBackendOptions): ExecBackend & { readonly mode: NativeMode } {
  const mode = probeMode(options);
  const layout: HostLayout = readHostLayout();
  const bases: CgroupBases = options.cgroups === false ? {} : detectCgroups(undefined, options.cgroupsWithin);
  const prlimit = whichSync("prlimit", ["/usr/bin", "/bin", "/usr/local/bin"]);
  const killGraceMs = options.killGraceMs ?? 2000;
  const live = new Set<BackendProcess>();
  const disposing = new Set<Promise<void>>();
  const onDispose = (pending: Promise<void>) => {
    disposing.add(pending);
    void pending.finally(() => disposing.delete(pending));
  };
  const denyMasks = options.denyMaskCache ?? createDenyMaskCache();
  const maskSources = createMaskSources();
  const instance = randomBytes(3).toString("hex");
  // Started now, while this process is small: one fork here, then none per command.
  const spawner = options.spawner === false || mode.confinement === "unavailable" ? null : createSpawner();
  /** Found on the first command in a workspace's view (namespace.ts). */
  let nsenter: string | null | undefined;
  let seq = 0;

  // Launchers kept ready (bubblewrap mode with cgroups), one per key (limits and namespace: with a
  // workspace per session, each session's commands find theirs), the most recently used MAX_READY
  // keys; each is replaced when it is used.
  const ready = new Map<string, Zygote>();
  /** Launchers whose cgroups are being made (close waits for them). */
  const preparing = new Map<string, Promise<void>>();
  let closed = false;
  const newCgroups = async (limits: ExecRequest["limits"]) =>
    bases.memory || bases.pids ? createCommandCgroups(bases, `${process.pid}-${instance}-${++seq}`, limits) : undefined;
  /** A zygote serves commands with the limits and in the namespace it was made for. */
  const zygoteKey = (limits: ExecRequest["limits"], ns: WorkspaceNamespace | null) => `${limitsKey(limits)}|${ns?.key ?? ""}`;
  /** Makes a launcher ready for these limits and namespace once `ended` settles (see PRESTART_LATEST_MS). */
  function prestart(limits: ExecRequest["limits"], ns: WorkspaceNamespace | null, ended: Promise<unknown>) {
    if (closed || options.prestart === false || mode.confinement !== "bubblewrap" || !(bases.memory || bases.pids)) return;
    const key = zygoteKey(limits, ns);
    let latest: NodeJS.Timeout | undefined;
    let fired = false;
    const go = () => {
      clearTimeout(latest);
      if (fired) return;
      fired = true;
      // A timer, not setImmediate: the ended command's reply (its audit record first) goes out before the fork.
      setTimeout(() => {
        if (closed || ready.has(key) || preparing.has(key)) return;
        preparing.set(key, prepareZygote(limits, ns, key).finally(() => preparing.delete(key)));
      }, 0);
    };
    latest = setTimeout(go, PRESTART_LATEST_MS).unref();
    void ended.then(go, go);
  }
  async function prepareZygote(limits: ExecRequest["limits"], ns: WorkspaceNamespace | null, key: string) {
    let cgroups;
    try {
      cgroups = await newCgroups(limits);
    } catch {
      return; // no launcher ready: the next command makes its own cgroups (and fails there if it cannot)
    }
    if (closed || ready.has(key)) {
      if (cgroups) onDispose(cgroups.dispose());
      return;
    }
    const z = await spawnZygote(limitsPrologue(limits, cgroups, bases, prlimit), cgroups, key, ns?.enter, spawner);
    if (closed) {
      z.used = true;
      discard(z);
      if (cgroups) onDispose(cgroups.dispose());
      return;
    }
    ready.set(key, z);
    // The least recently used key's launcher goes (its exit handler below forgets it).
    if (ready.size > MAX_READY) discard(ready.values().next().value!);
    // One waiting in a workspace's namespace keeps that namespace (and its mounts) alive: it goes
    // soon after the workspace's holder does, used or not.
    if (ns) {
      z.watch = setInterval(() => {
        if (!ns.alive()) discard(z);
      }, HOLDER_WATCH_MS).unref();
    }
    void z.sub.then(
      () => undefined,
      () => undefined,
    ).then(() => {
      // Died while waiting (killed, or the server is closing): forget it and free its cgroups.
      clearInterval(z.watch);
      if (ready.get(key) === z) ready.delete(key);
      if (z.cgroups && !z.used) onDispose(z.cgroups.dispose());
    });
  }
  function takeZygote(limits: ExecRequest["limits"], ns: WorkspaceNamespace | null, ended: Promise<unknown>): Zygote | undefined {
    const key = zygoteKey(limits, ns);
    const z = ready.get(key);
    ready.delete(key);
    prestart(limits, ns, ended);
    // One that died while waiting is forgotten and freed by its exit handler.
    if (!z || z.sub.exitCode !== null || z.sub.signalCode !== null) return undefined;
    clearInterval(z.watch);
    z.used = true;
    return z;
  }
  function discard(z: Zygote) {
    try {
      process.kill(-z.sub.pid!, "SIGKILL");
    } catch {
      // gone
    }
  }

  /** What the command will see (command-mounts.ts: the one place shared with the docker backend). */
  const attachMasks = mode.confinement === "bubblewrap" && mode.masks.helper !== null;
  const sandboxPlan = (request: ExecRequest, lift: number) => commandMounts(request, { denyMasks, maskSources, layout, firstSlot: GATE_FD.firstRoot, attachMasks }, lift);

  /** `ended`: settles when the command has ended (or never started); a used launcher is replaced then. */
  async function plan(request: ExecRequest, lift: number, ended: Promise<unknown>): Promise<LaunchPlan> {
    if (mode.confinement === "unavailable") throw new ExecRefusal("execution.confinement", mode.why);
    const command = request.script !== undefined ? [request.argv[0]!, "-c", request.script] : request.argv;
    if (mode.confinement === "none") {
      const cgroups = await newCgroups(request.limits);
      return { file: WRAPPER_SHELL, args: ["-c", limitsPrologue(request.limits, cgroups, bases, prlimit), "warden-limits", ...command], cwd: request.cwd, cgroups, sandboxed: false };
    }
    const ns = workspaceNamespace(request.roots, () => (nsenter ??= whichSync("nsenter", ["/usr/bin", "/bin", "/usr/sbin", "/sbin", "/usr/local/bin"])));
    const enter = ns?.enter ?? [];
    const { plan: mounts, binds } = await sandboxPlan(request, lift);
    const fds = binds.roots.map((r) => r.fd);
    const gate = { mounts: mounts.mounts, fds, release: binds.release };
    const bwrap = [...GATE_BWRAP_ARGS, ...mounts.args, "--", ...gatedCommand(command, request.cwd)];
    // bubblewrap runs under the mask helper when there are masks inside the roots to attach.
    const attach = mode.masks.helper ? maskAttachWords(mode.masks.helper, mounts) : [];
    const bwrapFile = [...enter, ...attach, mode.bwrap];
    // The launcher starts in the working directory on this side; in a workspace's view it may exist only there.
    const hostCwd = enter.length > 0 ? "/" : request.cwd;
    try {
      const z = fds.length <= ZYGOTE_MAX_FDS ? takeZygote(request.limits, ns, ended) : undefined;
      if (z) {
        // The zygote has an empty environment: bubblewrap sets the command's. It is already in the namespace.
        const env = Object.entries(request.env).flatMap(([k, v]) => ["--setenv", k, v]);
        const feed = zygoteFeed([...attach, mode.bwrap, "--clearenv", ...env, ...bwrap], z.terminator, fds, GATE_FD.firstRoot);
        if (feed) return { file: "", args: [], cwd: hostCwd, cgroups: z.cgroups, sandboxed: true, zygote: { sub: z.sub, feed }, gate: { ...gate, fds: [] } };
        discard(z);
      }
      const cgroups = await newCgroups(request.limits);
      return {
        file: WRAPPER_SHELL,
        args: ["-c", limitsPrologue(request.limits, cgroups, bases, prlimit), "warden-limits", ...bwrapFile, ...bwrap],
        cwd: hostCwd,
        cgroups,
        sandboxed: true,
        gate,
      };
    } catch (err) {
      binds.release();
      throw err;
    }
  }

  /**
   * Plans, launches and waits for the gate. A sandbox refused because something inside a root moved
   * while it was being prepared (nothing ran: the command waits at its gate) is prepared again from
   * a fresh scan, a few times, before the refusal reaches the caller. After a gate found a
   * directory holding masks changed, the next try hides whole each directory whose masks are all
   * unscanned directories (lift-masks.ts): more hidden, a steadier holder.
   */
  async function started(request: ExecRequest, interactive: boolean): Promise<BackendProcess> {
    return prepareAgainWhenMoved(async (lift) => {
      let end!: () => void;
      const ended = new Promise<void>((resolve) => (end = resolve));
      let proc: BackendProcess;
      try {
        proc = track(await launch(await plan(request, lift, ended), request, { interactive, killGraceMs, onDispose, spawner }));
      } catch (err) {
        end();
        throw err;
      }
      void proc.done.then(end, end);
      await proc.ready;
      return proc;
    }, request.signal);
  }

  function track(proc: BackendProcess): BackendProcess {
    live.add(proc);
    void proc.done.finally(() => {
      live.delete(proc);
      // It may have written into a root (a new key): a deny scan already under way may miss it.
      denyMasks.invalidate();
    });
    return proc;
  }

  return {
    name: "native",
    mode,
    describe() {
      const limits = [
        bases.memory ? "memory: cgroup" : "memory: rlimit AS",
        bases.pids ? "processes: cgroup" : "processes: rlimit NPROC",
        spawner ? "launchers forked by the spawner" : "launchers forked by the server (native/build/spawner not built)",
      ].join(", ");
      if (mode.confinement === "bubblewrap") {
        const masks = "why" in mode.masks ? `pins and deny masks as bubblewrap binds by path: ${mode.masks.why}` : "pins and deny masks inside the roots attached by descriptor";
        return { backend: "native", confinement: "bubblewrap", detail: `${mode.bwrap}; ${limits}; ${masks}` };
      }
      if (mode.confinement === "none") return { backend: "native", confinement: "none", detail: `unconfined by policy; ${limits}` };
      return { backend: "native", confinement: "unavailable", detail: mode.why };
    },
    async run(request: ExecRequest): Promise<ExecResult> {
      return (await started(request, false)).done;
    },
    async start(request: ExecRequest): Promise<BackendProcess> {
      return started(request, true);
    },
    warm(request) {
      if (mode.confinement === "bubblewrap") warmMounts(request, { denyMasks });
    },
    async which(program: string, trustedPath: string[]) {
      return whichSync(program, trustedPath);
    },
    async close() {
      closed = true;
      await Promise.all([...preparing.values()]);
      const waiting = [...ready.values()];
      ready.clear();
      await Promise.all(
        waiting.map(async (z) => {
          z.used = true; // released here, not by its exit handler
          discard(z);
          await Promise.race([z.sub.then(() => undefined, () => undefined), new Promise((r) => setTimeout(r, 1000))]);
          await z.cgroups?.dispose();
        }),
      );
      const procs = [...live];
      await Promise.all(procs.map((p) => p.kill("SIGKILL")));
      await Promise.all(procs.map((p) => p.done.catch(() => undefined)));
      await Promise.all([...disposing]);
      spawner?.close();
      denyMasks.close();
      maskSources.dispose();
      // Bases made inside someone else's cgroup (a Slurm step's) are ours to remove: left there,
      // they would keep that cgroup from being removed when the step ends.
      for (const ctrl of ["memory", "pids"] as const) {
        const base = bases[ctrl];
        if (base && (options.cgroupsWithin?.[ctrl] ?? "/") !== "/") await rmdir(base).catch(() => undefined);
      }
    },
  };
}

/** Checks once, at start, that bubblewrap exists and can build a sandbox on this machine. */
function probeMode(options: NativeBackendOptions): NativeMode {
  if (options.confinement === "none") return { confinement: "none" };
  if (process.platform !== "linux") return { confinement: "unavailable", why: `bubblewrap confinement needs Linux (this is ${process.platform}); set execution.confinement to "none" to run commands unconfined` };
  const bwrap = whichSync("bwrap", options.bwrapSearchPath ?? ["/usr/bin", "/usr/local/bin", "/bin"]);
  if (!bwrap) return { confinement: "unavailable", why: 'bubblewrap (bwrap) is not installed; install it (apt-get install bubblewrap) or set execution.confinement to "none" explicitly' };
  const probe = spawnSync(bwrap, ["--unshare-pid", "--unshare-net", "--die-with-parent", "--ro-bind", "/", "/", "--proc", "/proc", "--dev", "/dev", "--", "/bin/true"], {
    stdio: ["ignore", "ignore", "pipe"],
    timeout: 10_000,
  });
  if (probe.status !== 0) {
    const why = (probe.stderr?.toString() ?? "").trim().split("\n")[0] || String(probe.error ?? `exit ${probe.status}`);
    return { confinement: "unavailable", why: `bubblewrap cannot create a sandbox here (${why})` };
  }
  return { confinement: "bubblewrap", bwrap, masks: options.maskAttach ?? probeMaskAttach() };
}
