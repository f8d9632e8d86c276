import { existsSync } from "node:fs";
import { hostname } from "node:os";
import { randomBytes } from "node:crypto";
import Docker from "dockerode";
import { ExecRefusal } from "../errors.js";
import { failedResult } from "../output/output-collector.js";
import { cwdWithinRoots } from "../ssh/remote-roots.js";
import type { BackendProcess, ExecBackend, ExecRequest, ExecResult } from "../types.js";
import { commandMounts, prepareAgainWhenMoved, warmMounts } from "../native/command-mounts.js";
import { createDenyMaskCache } from "../native/deny-masks.js";
import { createMaskSources } from "../native/mask-sources.js";
import { CONTAINER_LAYOUT } from "./container-mounts.js";
import { createContainerSet, type SessionContainer } from "./container-set.js";
import { containerSpec, HOST_BINARY_DIRS, scopeKey, type ContainerScope } from "./container-spec.js";
import { startExec } from "./exec-process.js";
import { removeStaleContainers } from "./stale-containers.js";

export interface DockerBackendOptions {
  image: string;
  /** Non-root `uid:gid` the commands run as. */
  user: string;
  cpus: number;
  /** volume_mount mode: bind the host's binary directories read-only over the image. */
  hostBinaries: boolean;
  /** Socket path when DOCKER_HOST is not set (DOCKER_HOST wins). */
  socket?: string;
  env?: NodeJS.ProcessEnv;
  /** Roots, limits and filesystem.deny of the container made before the first command (for which()). */
  roots?: ExecRequest["roots"];
  limits?: ContainerScope["limits"];
  deny?: Pick<ExecRequest, "denyGlobs" | "denyScanLimit" | "denyScanBudgetMs">;
  /** Session id written to the container label. Default: random. */
  session?: string;
  killGraceMs?: number;
  /** Remove stale containers of crashed runs (at start and before the first container). Default true. */
  cleanStale?: boolean;
  /** Contact the engine when the backend is created (stale cleanup at start). Default true. */
  prepareAtStart?: boolean;
  log?: (message: string) => void;
}

/** Attempts after an exec the runtime could not start (see run()): about 5.5 s in all, past the restart of a container stuck at its pids limit (exec-process.ts onStuck, kill grace + 3 s). */
const START_RETRIES = 10;

/**
 * An exec runc refused to start (its own message, exit 126, nothing else printed): the command's
 * first instruction never ran.
 */
function neverStarted(result: ExecResult): boolean {
  return result.exit_code === 126 && result.stderr === "" && /^OCI runtime exec failed: [^\n]*\n?$/.test(result.stdout);
}

const DEFAULT_LIMITS: ContainerScope["limits"] = { memoryMb: 2048, processes: 256, network: false };

/** The engine client: DOCKER_HOST (unix://, tcp://) when set, else the policy's socket, else the default. */
export function dockerClient(options: Pick<DockerBackendOptions, "socket" | "env">): Docker {
  const env = options.env ?? process.env;
  if (env.DOCKER_HOST) {
    const host = env.DOCKER_HOST;
    if (host.startsWith("unix://")) return new Docker({ socketPath: host.slice("unix://".length) });
    return new Docker();
  }
  return new Docker({ socketPath: options.socket ?? "/var/run/docker.sock" });
}

/**
 * Runs commands in session containers (one current per distinct roots and limits), as execs
 * through the Docker Engine API. The container is the confinement (container-spec.ts); what it
 * shows of the roots is the native backend's mount plan (roots, pins, filesystem.deny masks:
 * native/command-mounts.ts), bound by dockerd and checked from outside; a command whose fresh plan
 * the container no longer shows gets a new one (container-set.ts). Containers are removed on
 * close(); ones left by crashed runs are removed at first use.
 */
export function createDockerBackend(options: DockerBackendOptions): ExecBackend & { containerIds(): Promise<string[]>; readonly session: string } {
  const docker = dockerClient(options);
  const session = options.session ?? `${process.pid}-${randomBytes(6).toString("hex")}`;
  const host = hostname();
  const hostBinaries = options.hostBinaries ? HOST_BINARY_DIRS.filter((d) => existsSync(d)) : [];
  const killGraceMs = options.killGraceMs ?? 2000;
  const live = new Set<BackendProcess>();
  const whichCache = new Map<string, { path: string | null; at: number }>();
  const denyMasks = createDenyMaskCache();
  const maskSources = createMaskSources();
  let prepared: Promise<void> | undefined;
  let closed = false;

  const prepare = () =>
    (prepared ??= (async () => {
      await docker.ping();
      if (options.cleanStale !== false) {
        const removed = await removeStaleContainers(docker, host);
        if (removed.length) options.log?.(`docker: removed ${removed.length} stale container(s) of crashed runs`);
      }
    })().catch((err: unknown) => {
      prepared = undefined; // the engine may come up later: try again on the next command
      throw err;
    }));
  // Stale containers go at start, not only at the first command.
  if (options.prepareAtStart !== false) void prepare().catch((err: unknown) => options.log?.(`docker: engine not reachable yet: ${(err as Error).message}`));

  const containers = createContainerSet({
    docker,
    prepare,
    spec: (mounts, limits) =>
      containerSpec({ image: options.image, user: options.user, cpus: options.cpus, mounts, limits, hostBinaries, session, ownerPid: process.pid, ownerHost: host }),
    ...(options.log ? { log: options.log } : {}),
  });

  /**
   * A container that shows the request's roots with its filesystem.deny matches hidden, as a fresh
   * plan says now (one more user: release it). A plan refused because something inside a root
   * moved while it was prepared is prepared again, as on the native backend (prepareAgainWhenMoved).
   */
  async function containerFor(request: Parameters<typeof commandMounts>[0] & Pick<ExecRequest, "signal">, limits: ContainerScope["limits"]): Promise<SessionContainer> {
    if (closed) throw new Error("docker backend is closed");
    return prepareAgainWhenMoved(async (lift) => {
      const replan = () => commandMounts(request, { denyMasks, maskSources, layout: CONTAINER_LAYOUT, firstSlot: 0 }, lift);
      const { plan, binds } = await replan();
      try {
        return await containers.acquire(scopeKey(request.roots, limits), plan, limits, replan);
      } finally {
        binds.release();
      }
    }, request.signal);
  }

  /** A container for a program lookup: any current one, else the configured roots' (a root that moved: one without roots). */
  async function lookupContainer(): Promise<SessionContainer> {
    const any = containers.any();
    if (any) return any;
    const limits = options.limits ?? DEFAULT_LIMITS;
    const first = { roots: options.roots ?? [], cwd: "/", limits, ...options.deny };
    return containerFor(first, limits).catch((err: unknown) => {
      if (err instanceof ExecRefusal) return containerFor({ roots: [], cwd: "/", limits }, limits);
      throw err;
    });
  }

  async function launch(request: ExecRequest, interactive: boolean): Promise<BackendProcess> {
    const limits = { memoryMb: request.limits.memoryMb, processes: request.limits.processes, network: request.limits.network };
    // Every command: each root's path must still lead to the directory the server holds (a moved
    // root is refused by name first), then its fresh deny masks decide the container.
    if (!cwdWithinRoots(request.cwd, request.roots.map((r) => r.path))) {
      throw new ExecRefusal("execution.docker.cwd", `working directory ${request.cwd} is not inside a root mounted in the container`);
    }
    const c = await containerFor(request, limits);
    let proc: BackendProcess;
    try {
      const onStuck = async () => {
        options.log?.(`docker: a killed command did not stop (pids limit reached?); restarting container ${c.id.slice(0, 12)}`);
        // Restarted, dockerd binds by path again, unchecked: no new command goes there.
        containers.retire(c);
        await docker.getContainer(c.id).restart({ t: 0 });
      };
      proc = await startExec({ docker, containerId: c.id, user: options.user, killGraceMs, onStuck }, request, interactive);
    } catch (err) {
      containers.release(c);
      throw err;
    }
    live.add(proc);
    void proc.done.finally(() => {
      live.delete(proc);
      containers.release(c);
      // It may have written into a root (a new key): a deny scan already under way may miss it.
      denyMasks.invalidate();
    });
    return proc;
  }

  return {
    name: "docker",
    session,
    async containerIds() {
      return containers.ids();
    },
    describe() {
      const mode = options.hostBinaries ? "volume_mount: host binaries read-only" : `image ${options.image}`;
      return { backend: "docker", confinement: "container", detail: `${mode}; user ${options.user}; read-only rootfs` };
    },
    async run(request) {
      const started = Date.now();
      for (let attempt = 0; ; attempt++) {
        let proc: BackendProcess;
        try {
          proc = await launch(request, false);
        } catch (err) {
          if (err instanceof ExecRefusal) throw err;
          return failedResult(`docker: ${(err as Error).message}`, started);
        }
        const result = await proc.done;
        // The runtime could not start the exec at all (right after a killed fork flood, the
        // container's pids limit stays reached until its init has reaped the dead): the command
        // never ran, so it is tried again, a few times, before the failure is reported.
        if (!neverStarted(result) || attempt >= START_RETRIES || request.signal?.aborted) return result;
        await new Promise((r) => setTimeout(r, 100 * (attempt + 1)));
      }
    },
    async start(request) {
      return launch(request, true);
    },
    warm(request) {
      warmMounts(request, { denyMasks });
    },
    async which(program, trustedPath) {
      if (program.includes("/") && !program.startsWith("/")) return null;
      const key = `${program}\0${trustedPath.join(":")}`;
      const hit = whichCache.get(key);
      if (hit && Date.now() - hit.at < 30_000) return hit.path;
      // A root that moved refuses every command by name (launch); finding a program needs no root,
      // so it is looked up in a container without any rather than reported as missing.
      const c = await lookupContainer();
      const dirs = program.startsWith("/") ? [""] : trustedPath.filter((d) => d.startsWith("/"));
      const script = 'p=$1; shift; for d; do f="$d${d:+/}$p"; if [ -f "$f" ] && [ -x "$f" ]; then printf %s "$f"; exit 0; fi; done; exit 1';
      const request: ExecRequest = {
        argv: ["/bin/sh", "-c", script, "warden-which", program, ...dirs],
        cwd: "/tmp",
        env: {},
        timeoutMs: 15_000,
        outputCapBytes: 4096,
        limits: { memoryMb: 0, processes: 0, cpuS: 0, fileSizeMb: 0, network: false },
        roots: [],
      };
      let result: ExecResult;
      try {
        result = await (await startExec({ docker, containerId: c.id, user: options.user, killGraceMs }, request, false)).done;
      } finally {
        containers.release(c);
      }
      const path = result.exit_code === 0 && result.stdout.startsWith("/") ? result.stdout : null;
      whichCache.set(key, { path, at: Date.now() });
      return path;
    },
    async close() {
      closed = true;
      const procs = [...live];
      await Promise.all(procs.map((p) => p.kill("SIGKILL").catch(() => {})));
      await containers.close();
      denyMasks.close();
      maskSources.dispose();
    },
  };
}
