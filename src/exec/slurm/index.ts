import { join } from "node:path";
import { packageRoot } from "../../config/package-root.js";
import { whichSync } from "../native/which.js";
import type { BackendProcess, ExecBackend, ExecRequest } from "../types.js";
import { SlurmSession } from "./session.js";
import { cancelStale, ownerTag, type SlurmSettings } from "./slurm-cli.js";

export type { SlurmSettings } from "./slurm-cli.js";

export interface SlurmBackendOptions {
  settings: SlurmSettings;
  /** policy.execution.confinement, applied on the node by the native backend. */
  confinement: "bubblewrap" | "none";
  /** Node.js on the compute nodes (default: this process's, which must exist there: a shared install). */
  nodeBinary?: string;
  log?: (message: string) => void;
  /** Forwarded to each session (tests shorten them). */
  watchdogMs?: number;
  /** Allocations kept open and ready ahead of the sessions that will take them (policy execution.slurm.warm_sessions). Default 0. */
  warmSessions?: number;
}

/** Commands outside any MCP session (REST API, stdio before a session id) share this allocation. */
const SHARED = "(no session)";

/**
 * `--backend slurm`: one allocation per MCP session (salloc --no-shell --immediate), one long job
 * step in it running the native backend on the node (docs/SCALING.md says why one step and not one
 * per command). Allocations are released when their session ends or the server closes; those an
 * earlier run of this server left behind are cancelled at start. A session whose step died (node
 * failure, scancel, time limit) is dropped: its next command gets a new allocation.
 */
export function createSlurmBackend(options: SlurmBackendOptions): ExecBackend {
  const s = options.settings;
  const tag = ownerTag();
  // The built entry (also when this runs from src/ under vitest: `npm test` builds first).
  const nodeMain = join(packageRoot(), "dist", "exec", "slurm", "node-main.js");
  const nodeCommand = [options.nodeBinary ?? process.execPath, nodeMain, "--confinement", options.confinement];
  const sessions = new Map<string, Promise<SlurmSession>>();
  const settled = new Map<string, SlurmSession>();
  /** Releases under way (a session ended): close() waits for them, so the server never exits holding a job. */
  const releasing = new Set<Promise<void>>();
  const releaseWhenOpen = (opening: Promise<SlurmSession>) => {
    // Registered at once (not after an await), so a close() right behind it waits for it.
    const p = opening.then(
      (x) => x.release(),
      () => undefined,
    ).catch(() => undefined);
    releasing.add(p);
    void p.finally(() => releasing.delete(p));
    return p;
  };
  const release = (x: SlurmSession) => releaseWhenOpen(Promise.resolve(x));
  let closed = false;
  const sweep = cancelStale(s).then(
    (ids) => {
      if (ids.length) options.log?.(`slurm: cancelled ${ids.length} allocation(s) an earlier run left behind: ${ids.join(", ")}`);
    },
    () => undefined,
  );

  const openSession = () => SlurmSession.open({ settings: s, tag, nodeCommand, ...(options.watchdogMs ? { watchdogMs: options.watchdogMs } : {}) });

  // Warm spares: allocations with their step started and the node answering, so a new session's
  // first command pays neither salloc nor starting the node's runner. Refilled when one is taken,
  // never retried in a loop when the queue refuses one.
  const spares: { opening: Promise<SlurmSession>; ready?: SlurmSession }[] = [];
  function refill(): void {
    while (!closed && spares.length < (options.warmSessions ?? 0)) {
      const spare: (typeof spares)[number] = { opening: openSession() };
      spares.push(spare);
      const drop = () => {
        const i = spares.indexOf(spare);
        if (i >= 0) spares.splice(i, 1);
      };
      spare.opening.then(
        (x) => {
          spare.ready = x;
          x.step.onEnd(drop);
        },
        (err: Error) => {
          drop();
          options.log?.(`slurm: a warm allocation could not be made: ${err.message}`);
        },
      );
    }
  }
  /** A ready spare, else one still starting (further along than a new one); dead ones are never taken. */
  function takeSpare(): Promise<SlurmSession> | undefined {
    let i = spares.findIndex((x) => x.ready?.alive);
    if (i < 0) i = spares.findIndex((x) => !x.ready);
    if (i < 0) return undefined;
    const [spare] = spares.splice(i, 1);
    refill();
    return spare!.opening;
  }
  void sweep.then(refill);

  async function sessionFor(key: string): Promise<SlurmSession> {
    if (closed) throw new Error("the slurm backend is closed");
    await sweep;
    const known = sessions.get(key);
    if (known) {
      const session = await known.catch(() => undefined);
      if (session?.alive) return session;
      if (sessions.get(key) === known) sessions.delete(key);
      if (session) void release(session);
      return sessionFor(key);
    }
    const opening = takeSpare() ?? openSession();
    sessions.set(key, opening);
    try {
      const session = await opening;
      settled.set(key, session);
      session.step.onEnd(() => {
        if (settled.get(key) === session) settled.delete(key);
      });
      if (closed || sessions.get(key) !== opening) {
        await release(session);
        throw new Error("the session ended while its allocation was being made");
      }
      return session;
    } catch (err) {
      if (sessions.get(key) === opening) sessions.delete(key);
      throw err;
    }
  }

  async function launch(request: ExecRequest, interactive: boolean) {
    const session = await sessionFor(request.session ?? SHARED);
    return session.launch(request, interactive);
  }

  return {
    name: "slurm",
    describe() {
      const where = [s.partition ? `partition ${s.partition}` : "default partition", s.cpus ? `${s.cpus} CPU` : undefined, s.memoryMb ? `${s.memoryMb} MB` : undefined, s.timeMinutes ? `${s.timeMinutes} min` : undefined].filter(Boolean).join(", ");
      const cluster = [...settled.values()][0]?.placement.cluster;
      return {
        backend: "slurm",
        confinement: options.confinement === "none" ? "none" : "bubblewrap",
        detail: `${cluster ? `cluster ${cluster}, ` : ""}one allocation per session (${where}); commands run under bubblewrap on the allocated node (SLURM_CONF=${s.env.SLURM_CONF ?? "default"})`,
      };
    },
    async run(request) {
      const proc = await launch(request, false);
      const result = await proc.done;
      const refusal = proc.refusal();
      if (refusal) throw refusal;
      return result;
    },
    async start(request): Promise<BackendProcess> {
      const proc = await launch(request, true);
      await proc.ready;
      return proc;
    },
    async which(program, trustedPath) {
      // Programs are looked up on a node: opening the shared allocation here would cost a job, so
      // the lookup happens on this host when no session is open yet (same paths on every node).
      const session = [...settled.values()].find((x) => x.alive);
      if (session) return session.which(program, trustedPath).catch(() => whichSync(program, trustedPath));
      return whichSync(program, trustedPath);
    },
    placement(session) {
      const x = settled.get(session);
      return x?.alive ? x.placement : undefined;
    },
    sessions() {
      const jobs = [...settled.values()].filter((x) => x.alive).map((x) => x.placement);
      return { ...(jobs[0] ? { cluster: jobs[0].cluster } : {}), jobs };
    },
    async endSession(session) {
      const opening = sessions.get(session);
      if (!opening) return;
      sessions.delete(session);
      settled.delete(session);
      await releaseWhenOpen(opening);
    },
    async close() {
      closed = true;
      const all = [...sessions.values()];
      sessions.clear();
      settled.clear();
      for (const opening of [...all, ...spares.splice(0).map((x) => x.opening)]) releaseWhenOpen(opening);
      await Promise.all([...releasing]);
    },
  };
}
