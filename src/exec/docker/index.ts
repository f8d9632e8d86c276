import { existsSync } from "node:fs";
import { hostname } from "node:os";
import { randomBytes } from "node:crypto";
import Docker from "dockerode";
import { ExecRefusal } from "../errors.js";
import { failedResult } from "../output/output-collector.js";
import { cwdWithinRoots } from "../ssh/remote-roots.js";
import type { BackendProcess, ExecBackend, ExecRequest, ExecResult } from "../types.js";
import { verifyMounts } from "../native/mount-check.js";
import { MOUNTS_RULE } from "../native/mount-gate.js";
import type { PlannedMount } from "../native/mount-plan.js";
import { openBinds, type OpenedBinds } from "../native/open-binds.js";
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
  /** Roots and limits of the container made before the first command (for which()). */
  roots?: ExecRequest["roots"];
  limits?: ContainerScope["limits"];
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
 * Runs commands in one container per server session (per distinct roots and limits), as execs
 * through the Docker Engine API. The container is the confinement: see container-spec.ts.
 * Containers are removed on close(); ones left by crashed runs are removed at first use.
 */
export function createDockerBackend(options: DockerBackendOptions): ExecBackend & { containerIds(): Promise<string[]>; readonly session: string } {
  const docker = dockerClient(options);
  const session = options.session ?? `${process.pid}-${randomBytes(6).toString("hex")}`;
  const host = hostname();
  const hostBinaries = options.hostBinaries ? HOST_BINARY_DIRS.filter((d) => existsSync(d)) : [];
  const killGraceMs = options.killGraceMs ?? 2000;
  const containers = new Map<string, Promise<string>>();
  const live = new Set<BackendProcess>();
  const whichCache = new Map<string, { path: string | null; at: number }>();
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

  function container(roots: ExecRequest["roots"], limits: ContainerScope["limits"]): Promise<string> {
    if (closed) return Promise.reject(new Error("docker backend is closed"));
    const key = scopeKey(roots, limits);
    let id = containers.get(key);
    if (!id) {
      id = (async () => {
        await prepare();
        // The roots as the server holds them (a path that no longer leads to its directory is
        // refused), and the directories between nested roots, opened without following symlinks.
        const binds = openBinds(roots, []);
        try {
          const spec = containerSpec({ image: options.image, user: options.user, cpus: options.cpus, roots, pins: binds.pins, limits, hostBinaries, session, ownerPid: process.pid, ownerHost: host });
          const created = await docker.createContainer(spec as Docker.ContainerCreateOptions);
          try {
            await created.start();
            // dockerd binds by path: check from outside that every root and pin is the held directory, in place.
            const pid = (await created.inspect()).State.Pid;
            const why = pid > 0 ? verifyMounts(pid, plannedMounts(binds)) : "the container's process is not visible from this host";
            if (why !== null) throw new ExecRefusal(MOUNTS_RULE, `the container did not match its plan, so no command runs in it: ${why}`);
          } catch (err) {
            await created.remove({ force: true }).catch(() => {});
            throw err;
          }
          return created.id;
        } finally {
          binds.release();
        }
      })();
      containers.set(key, id);
      id.catch(() => containers.delete(key));
    }
    return id;
  }

  function anyContainer(): Promise<string> {
    const first = containers.values().next();
    if (!first.done) return first.value;
    return container(options.roots ?? [], options.limits ?? DEFAULT_LIMITS);
  }

  async function launch(request: ExecRequest, interactive: boolean): Promise<BackendProcess> {
    // Every command: each root's path must still lead to the directory the server holds.
    openBinds(request.roots, []).release();
    if (!cwdWithinRoots(request.cwd, request.roots.map((r) => r.path))) {
      throw new ExecRefusal("execution.docker.cwd", `working directory ${request.cwd} is not inside a root mounted in the container`);
    }
    const limits = { memoryMb: request.limits.memoryMb, processes: request.limits.processes, network: request.limits.network };
    const containerId = await container(request.roots, limits);
    const onStuck = async () => {
      options.log?.(`docker: a killed command did not stop (pids limit reached?); restarting container ${containerId.slice(0, 12)}`);
      await docker.getContainer(containerId).restart({ t: 0 });
    };
    const proc = await startExec({ docker, containerId, user: options.user, killGraceMs, onStuck }, request, interactive);
    live.add(proc);
    void proc.done.finally(() => live.delete(proc));
    return proc;
  }

  return {
    name: "docker",
    session,
    async containerIds() {
      const ids = await Promise.all([...containers.values()].map((p) => p.catch(() => null)));
      return ids.filter((x): x is string => !!x);
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
    async which(program, trustedPath) {
      if (program.includes("/") && !program.startsWith("/")) return null;
      const key = `${program}\0${trustedPath.join(":")}`;
      const hit = whichCache.get(key);
      if (hit && Date.now() - hit.at < 30_000) return hit.path;
      // A root that moved refuses every command by name (launch); finding a program needs no root,
      // so it is looked up in a container without any rather than reported as missing.
      const id = await anyContainer().catch((err: unknown) => {
        if (err instanceof ExecRefusal) return container([], options.limits ?? DEFAULT_LIMITS);
        throw err;
      });
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
      const result = await (await startExec({ docker, containerId: id, user: options.user, killGraceMs }, request, false)).done;
      const path = result.exit_code === 0 && result.stdout.startsWith("/") ? result.stdout : null;
      whichCache.set(key, { path, at: Date.now() });
      return path;
    },
    async close() {
      closed = true;
      const procs = [...live];
      await Promise.all(procs.map((p) => p.kill("SIGKILL").catch(() => {})));
      const ids = await Promise.all([...containers.values()].map((p) => p.catch(() => null)));
      containers.clear();
      await Promise.all(ids.filter((x): x is string => !!x).map((id) => docker.getContainer(id).remove({ force: true }).catch(() => {})));
    },
  };
}

/** What a container must show at each root and pin (mount-check.ts): the held directory, and a nested one bound onto itself. */
function plannedMounts(binds: OpenedBinds): PlannedMount[] {
  const all = [...binds.roots, ...binds.pins];
  return all.map((b) => ({ dest: b.path, expect: b.id, self: all.some((o) => o.path !== b.path && b.path.startsWith(o.path === "/" ? "/" : o.path + "/")) }));
}
