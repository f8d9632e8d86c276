import type Docker from "dockerode";
import { ExecRefusal } from "../errors.js";
import { verifyMounts } from "../native/mount-check.js";
import { MOUNTS_RULE } from "../native/mount-gate.js";
import type { MountPlan, PlannedMount } from "../native/mount-plan.js";
import { dockerMounts, inPlace, sameView, type DockerBindMount } from "./container-mounts.js";
import type { ContainerScope } from "./container-spec.js";

/** Pauses before each fresh scan of a started container's roots, before it is refused (checkMade): 0.6 s in all. */
const RECHECK_DELAYS_MS = [20, 40, 80, 160, 300];

/** A fresh mount plan of the same command (native/command-mounts.ts); release its binds. */
export type Replan = () => Promise<{ plan: MountPlan; binds: { release(): void } }>;

/** One session container: what it was made to show, and the commands running in it. */
export interface SessionContainer {
  id: string;
  /** Its init's pid on this host (where the mounts are checked from). */
  pid: number;
  /** The plan's mounts it was checked against at start. */
  mounts: PlannedMount[];
  /** Commands (and lookups) running in it now. */
  users: number;
  /** No new command goes there; removed when the last one running there ends. */
  retired: boolean;
}

export interface ContainerSetOptions {
  docker: Docker;
  /** The create body for a container with these binds and limits (container-spec.ts). */
  spec(mounts: DockerBindMount[], limits: ContainerScope["limits"]): Record<string, unknown>;
  /** Before the first container: the engine answers, stale containers are gone. */
  prepare(): Promise<void>;
  log?: (message: string) => void;
}

/**
 * The containers of one docker backend: per scope (roots and limits) one current container that
 * new commands go to, made from the mount plan of the command that needed it and checked from
 * outside after start. A command whose fresh plan the current container does not show (another
 * mask set, or its masks no longer where planned) gets a new container, and the old one is retired:
 * it keeps running the commands already in it (a background command keeps the view it started
 * with) and is removed when the last of them ends.
 */
export function createContainerSet(options: ContainerSetOptions) {
  const { docker } = options;
  const scopes = new Map<string, { current?: SessionContainer; lock: Promise<unknown> }>();
  const all = new Set<SessionContainer>();
  let closed = false;

  const remove = (c: SessionContainer) => {
    all.delete(c);
    void docker
      .getContainer(c.id)
      .remove({ force: true })
      .catch((err: unknown) => {
        if ((err as { statusCode?: number }).statusCode !== 404) options.log?.(`docker: could not remove container ${c.id.slice(0, 12)}: ${(err as Error).message}`);
      });
  };

  /** No new command goes to `c`; removed now if nothing runs there. */
  const retire = (c: SessionContainer) => {
    c.retired = true;
    if (c.users <= 0 && all.has(c)) remove(c);
  };

  async function create(plan: MountPlan, limits: ContainerScope["limits"], replan: Replan): Promise<SessionContainer> {
    await options.prepare();
    const created = await docker.createContainer(options.spec(dockerMounts(plan), limits) as Docker.ContainerCreateOptions);
    try {
      await created.start();
      const pid = (await created.inspect()).State.Pid;
      const why = pid > 0 ? await checkMade(pid, plan, replan) : "the container's process is not visible from this host";
      if (why !== null) throw new ExecRefusal(MOUNTS_RULE, `the container did not match its plan, so no command runs in it: ${why}`);
      if (closed) throw new Error("docker backend is closed");
      const made: SessionContainer = { id: created.id, pid, mounts: plan.mounts, users: 0, retired: false };
      all.add(made);
      return made;
    } catch (err) {
      await created.remove({ force: true }).catch(() => {});
      throw err;
    }
  }

  /**
   * dockerd binds by path: check from outside that every root, pin and mask is what the plan
   * judged, in place, with the mask holders' entries as the deny scan saw them (their ctime). A
   * container takes 0.3-1 s to start, and anything renaming in a directory holding masks meanwhile
   * fails that check; so the roots are then scanned again (cheap: the index reads only what
   * changed), a few times, a little later each time, and the container is checked against the
   * fresh plan, which must want the same mounts: the holders unchanged from that scan to the check
   * means the masks sit on the entries it judged, whenever dockerd mounted them. Returns why not,
   * or null.
   */
  async function checkMade(pid: number, plan: MountPlan, replan: Replan): Promise<string | null> {
    let why = verifyMounts(pid, plan.mounts);
    for (let i = 0; why !== null && i < RECHECK_DELAYS_MS.length; i++) {
      await new Promise((r) => setTimeout(r, RECHECK_DELAYS_MS[i]));
      const fresh = await replan();
      try {
        why = sameView(plan.mounts, fresh.plan.mounts) ? verifyMounts(pid, fresh.plan.mounts) : `${why}; a fresh plan wants other mounts`;
      } finally {
        fresh.binds.release();
      }
    }
    return why;
  }

  return {
    /**
     * A container of scope `key` that shows `plan` now, with one more user: the current one when it
     * was made with the same mounts and they are all still in place (checked from outside), else a
     * new one. Call release() when the command ended.
     */
    acquire(key: string, plan: MountPlan, limits: ContainerScope["limits"], replan: Replan): Promise<SessionContainer> {
      let scope = scopes.get(key);
      if (!scope) scopes.set(key, (scope = { lock: Promise.resolve() }));
      const s = scope;
      const chosen = s.lock.then(async () => {
        if (closed) throw new Error("docker backend is closed");
        const cur = s.current;
        if (cur && !cur.retired && sameView(cur.mounts, plan.mounts)) {
          const why = inPlace(cur.pid, cur.mounts);
          if (why === null) {
            cur.users++;
            return cur;
          }
          options.log?.(`docker: container ${cur.id.slice(0, 12)} no longer shows its plan (${why}); new commands go to a new one`);
        }
        if (cur) retire(cur);
        s.current = undefined;
        const made = await create(plan, limits, replan);
        made.users++;
        s.current = made;
        return made;
      });
      s.lock = chosen.catch(() => undefined);
      return chosen;
    },
    /** A current container of any scope, with one more user (program lookups need no particular roots). */
    any(): SessionContainer | undefined {
      for (const s of scopes.values()) {
        if (s.current && !s.current.retired) {
          s.current.users++;
          return s.current;
        }
      }
      return undefined;
    },
    release(c: SessionContainer): void {
      c.users--;
      if (c.retired && c.users <= 0 && all.has(c)) remove(c);
    },
    /** No new command goes to `c` (restarted: bound by path again, unchecked; or superseded). */
    retire,
    ids(): string[] {
      return [...all].map((c) => c.id);
    },
    async close(): Promise<void> {
      closed = true;
      await Promise.all([...scopes.values()].map((s) => s.lock));
      const ids = [...all].map((c) => c.id);
      all.clear();
      scopes.clear();
      await Promise.all(ids.map((id) => docker.getContainer(id).remove({ force: true }).catch(() => {})));
    },
  };
}

export type ContainerSet = ReturnType<typeof createContainerSet>;
