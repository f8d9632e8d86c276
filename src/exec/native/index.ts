import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { rmdir } from "node:fs/promises";
import { randomBytes } from "node:crypto";
import { ExecRefusal } from "../errors.js";
import type { BackendProcess, ExecBackend, ExecRequest, ExecResult } from "../types.js";
import { createDenyMaskCache, EMPTY_MASKS, type DenyMaskCache, type DenyMasks } from "./deny-masks.js";
import { readHostLayout, type HostLayout } from "./host-layout.js";
import { launch, type LaunchPlan } from "./launch.js";
import { createMaskSources } from "./mask-sources.js";
import { GATE_BWRAP_ARGS, GATE_FD, gatedCommand, MOUNTS_RULE } from "./mount-gate.js";
import { mountPlan, type FileId, type MountPlan } from "./mount-plan.js";
import { CHANGED_RULE, openBinds, type OpenedBinds } from "./open-binds.js";
import { createCommandCgroups, detectCgroups, limitsPrologue, type CgroupBases } from "./limits.js";
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
}

/** Rule of a refusal because the workspace whose namespace commands run in is gone. */
export const WORKSPACE_GONE_RULE = "workspace.gone";

/** What the native backend will actually do, for describe() and get_system_info. */
export type NativeMode = { confinement: "bubblewrap"; bwrap: string } | { confinement: "none" } | { confinement: "unavailable"; why: string };

const WRAPPER_SHELL = "/bin/sh";
/** Preparations of one command (scan, plan, gate) before a "changed while prepared" refusal is final. */
const PREPARE_ATTEMPTS = 3;
/** Same default as policy execution.deny_scan_limit, for requests that do not carry the knob. */
const DEFAULT_DENY_SCAN_LIMIT = 200_000;

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
  /** Found on the first command in a workspace's view (enterNamespace). */
  let nsenter: string | null | undefined;
  let seq = 0;

  // One launcher kept ready (bubblewrap mode with cgroups), replaced each time one is used.
  let ready: Zygote | undefined;
  /** A launcher whose cgroups are being made (close waits for it). */
  let preparing: Promise<void> | undefined;
  let closed = false;
  const newCgroups = async (limits: ExecRequest["limits"]) =>
    bases.memory || bases.pids ? createCommandCgroups(bases, `${process.pid}-${instance}-${++seq}`, limits) : undefined;
  function prestart(limits: ExecRequest["limits"]) {
    if (closed || options.prestart === false || mode.confinement !== "bubblewrap" || !(bases.memory || bases.pids)) return;
    setImmediate(() => {
      if (closed || ready || preparing) return;
      preparing = prepareZygote(limits).finally(() => (preparing = undefined));
    });
  }
  async function prepareZygote(limits: ExecRequest["limits"]) {
    let cgroups;
    try {
      cgroups = await newCgroups(limits);
    } catch {
      return; // no launcher ready: the next command makes its own cgroups (and fails there if it cannot)
    }
    if (closed || ready) {
      if (cgroups) onDispose(cgroups.dispose());
      return;
    }
    ready = spawnZygote(limitsPrologue(limits, cgroups, bases, prlimit), cgroups, limitsKey(limits));
    const z = ready;
    void z.sub.then(
      () => undefined,
      () => undefined,
    ).then(() => {
      // Died while waiting (killed, or the server is closing): forget it and free its cgroups.
      if (ready === z) ready = undefined;
      if (z.cgroups && !z.used) onDispose(z.cgroups.dispose());
    });
  }
  function takeZygote(limits: ExecRequest["limits"]): Zygote | undefined {
    const z = ready;
    ready = undefined;
    prestart(limits);
    if (!z) return undefined;
    if (z.key === limitsKey(limits) && z.sub.exitCode === null && z.sub.signalCode === null) {
      z.used = true;
      return z;
    }
    discard(z);
    return undefined;
  }
  function discard(z: Zygote) {
    try {
      process.kill(-z.sub.pid!, "SIGKILL");
    } catch {
      // gone
    }
  }

  /**
   * What the command will see: its roots held by descriptor, the filesystem.deny matches inside
   * them hidden, and the mounts the gate must find in place before the command starts.
   */
  async function sandboxPlan(request: ExecRequest): Promise<{ plan: MountPlan; binds: OpenedBinds }> {
    // Roots first: one that is not the held directory any more is refused by name before anything walks it.
    openBinds(request.roots, []).release();
    const masks = request.denyGlobs?.length
      ? await denyMasks.masksFor(request.roots, request.denyGlobs, { maxDirs: request.denyScanLimit ?? DEFAULT_DENY_SCAN_LIMIT, budgetMs: request.denyScanBudgetMs })
      : EMPTY_MASKS;
    const binds = openBinds(request.roots, masks.pins, masks.ids);
    try {
      const held = maskHolders(masks);
      const plan = mountPlan(
        {
          roots: binds.roots.map((r, i) => ({ path: r.path, writable: r.writable, id: held(r.path, r.id), slot: GATE_FD.firstRoot + i })),
          pins: binds.pins.map((p) => ({ ...p, id: held(p.path, p.id) })),
          masks,
          maskSources: maskSources.get(),
          cwd: request.cwd,
          network: request.limits.network,
        },
        layout,
      );
      return { plan, binds };
    } catch (err) {
      binds.release();
      throw err;
    }
  }

  async function plan(request: ExecRequest): Promise<LaunchPlan> {
    if (mode.confinement === "unavailable") throw new ExecRefusal("execution.confinement", mode.why);
    const command = request.script !== undefined ? [request.argv[0]!, "-c", request.script] : request.argv;
    if (mode.confinement === "none") {
      const cgroups = await newCgroups(request.limits);
      return { file: WRAPPER_SHELL, args: ["-c", limitsPrologue(request.limits, cgroups, bases, prlimit), "warden-limits", ...command], cwd: request.cwd, cgroups, sandboxed: false };
    }
    const enter = enterNamespace(request.roots, () => (nsenter ??= whichSync("nsenter", ["/usr/bin", "/bin", "/usr/sbin", "/sbin", "/usr/local/bin"])));
    const { plan: mounts, binds } = await sandboxPlan(request);
    const fds = binds.roots.map((r) => r.fd);
    const gate = { mounts: mounts.mounts, fds, release: binds.release };
    const bwrap = [...GATE_BWRAP_ARGS, ...mounts.args, "--", ...gatedCommand(command)];
    const bwrapFile = [...enter, mode.bwrap];
    // The launcher starts in the working directory on this side; in a workspace's view it may exist only there.
    const hostCwd = enter.length > 0 ? "/" : request.cwd;
    try {
      const z = fds.length <= ZYGOTE_MAX_FDS ? takeZygote(request.limits) : undefined;
      if (z) {
        // The zygote has an empty environment: bubblewrap sets the command's.
        const env = Object.entries(request.env).flatMap(([k, v]) => ["--setenv", k, v]);
        const feed = zygoteFeed([...bwrapFile, "--clearenv", ...env, ...bwrap], z.terminator, fds, GATE_FD.firstRoot);
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
   * a fresh scan, a few times, before the refusal reaches the caller.
   */
  async function started(request: ExecRequest, interactive: boolean): Promise<BackendProcess> {
    for (let attempt = 1; ; attempt++) {
      try {
        const proc = track(launch(await plan(request), request, { interactive, killGraceMs, onDispose }));
        await proc.ready;
        return proc;
      } catch (err) {
        const moved = err instanceof ExecRefusal && (err.rule === CHANGED_RULE || err.rule === MOUNTS_RULE);
        if (!moved || attempt >= PREPARE_ATTEMPTS || request.signal?.aborted) throw err;
      }
    }
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
      const limits = [bases.memory ? "memory: cgroup" : "memory: rlimit AS", bases.pids ? "processes: cgroup" : "processes: rlimit NPROC"].join(", ");
      if (mode.confinement === "bubblewrap") return { backend: "native", confinement: "bubblewrap", detail: `${mode.bwrap}; ${limits}` };
      if (mode.confinement === "none") return { backend: "native", confinement: "none", detail: `unconfined by policy; ${limits}` };
      return { backend: "native", confinement: "unavailable", detail: mode.why };
    },
    async run(request: ExecRequest): Promise<ExecResult> {
      return (await started(request, false)).done;
    },
    async start(request: ExecRequest): Promise<BackendProcess> {
      return started(request, true);
    },
    async which(program: string, trustedPath: string[]) {
      return whichSync(program, trustedPath);
    },
    async close() {
      closed = true;
      await preparing;
      const z = ready;
      ready = undefined;
      if (z) {
        z.used = true; // released here, not by its exit handler
        discard(z);
        await Promise.race([z.sub.then(() => undefined, () => undefined), new Promise((r) => setTimeout(r, 1000))]);
        await z.cgroups?.dispose();
      }
      const procs = [...live];
      await Promise.all(procs.map((p) => p.kill("SIGKILL")));
      await Promise.all(procs.map((p) => p.done.catch(() => undefined)));
      await Promise.all([...disposing]);
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

/**
 * The identity the gate must find for a directory bound in the sandbox: for one that holds deny
 * masks directly, with the ctime the deny scan saw (its entries unchanged since: the masks sit on
 * the files they were planned for). Throws ExecRefusal when the scan did not judge such a directory.
 */
function maskHolders(masks: DenyMasks): (path: string, id: FileId) => FileId {
  const holders = new Set([...masks.files, ...masks.dirs].map((p) => p.slice(0, Math.max(1, p.lastIndexOf("/")))));
  return (path, id) => {
    if (!holders.has(path)) return id;
    const seen = masks.ids?.get(path);
    if (!seen) throw new ExecRefusal(CHANGED_RULE, `${path} holds deny masks the scan did not plan; nothing ran, run the command again`);
    return { ...id, ctime: String(seen.ctimeNs) };
  };
}

/**
 * serve --overlay: roots held in a copy-on-write workspace's merged view (`held.via` =
 * `/proc/<holder>/root`) are bound from inside that workspace's namespace, where their paths (pins,
 * masks, the working directory) lead to the merged view: bubblewrap starts under nsenter into it.
 * The plan's walk and the gate then check every mount against the merged directories; a holder that
 * is gone refuses the command here, so nothing falls back to the real tree.
 */
function enterNamespace(roots: ExecRequest["roots"], findNsenter: () => string | null): string[] {
  const vias = [...new Set(roots.flatMap((r) => (r.held?.via !== undefined ? [r.held.via] : [])))];
  if (vias.length === 0) return [];
  const pid = vias.length === 1 ? /^\/proc\/(\d+)\/root$/.exec(vias[0]!)?.[1] : undefined;
  if (pid === undefined) throw new ExecRefusal(WORKSPACE_GONE_RULE, `the roots are held in more than one namespace or an unknown one (${vias.join(", ")}); nothing ran`);
  if (!existsSync(`/proc/${pid}/root`)) throw new ExecRefusal(WORKSPACE_GONE_RULE, `the copy-on-write workspace's holder (pid ${pid}) is gone, and its view with it; no command runs outside the view: restart the server (the workspace keeps its changes)`);
  const nsenter = findNsenter();
  if (!nsenter) throw new ExecRefusal(WORKSPACE_GONE_RULE, "nsenter (util-linux) is missing, so no command can enter the copy-on-write workspace; install util-linux");
  const asRoot = process.geteuid?.() === 0;
  return [nsenter, `--target=${pid}`, ...(asRoot ? ["--mount"] : ["--user", "--mount", "--preserve-credentials"]), "--"];
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
  return { confinement: "bubblewrap", bwrap };
}
