import { closeSync, existsSync, statfsSync } from "node:fs";
import { join } from "node:path";
import { prepareCopy } from "./copy/populate.js";
import { DRIVERS, driverByName, type DriverAttempt, type OverlayDriver } from "./drivers.js";
import { WorkspaceError } from "./errors.js";
import { isRoot, startHolder, verifyMounts, type Holder } from "./holder.js";
import { isRunning } from "./proc.js";
import { layerDirsTopFirst, LOCK, lowerRel, mergedRel, wsDirOf } from "./layout.js";
import { readManifest, type WorkspaceManifest } from "./manifest.js";
import { checkName } from "./names.js";
import { tryLock } from "./lock.js";
import { canonicalRoots, checkFilesystems, checkSameRoots, openRoot } from "./roots.js";
import { futureStateDir, prepareStateDir } from "./state-dir.js";
import { commitManifest, createWorkspace, loadWorkspace, removeWorkspaceDir, stateOf, sweepStateDir, sweepWorkspace, type RootIdentity } from "./store.js";

export interface OpenWorkspaceOptions {
  /** The state dir (created if missing); SPEC default: defaultStateDir(). */
  stateDir: string;
  /** The workspace's name; made when it does not exist yet. */
  name: string;
  /** The roots it covers (the server's writable roots). An existing workspace must be given the same ones. */
  roots: string[];
  /**
   * The driver (drivers.ts): "auto" (the default) tries each in turn for a new workspace; an existing
   * workspace is opened with the driver it was made with (its layers are in that driver's encoding).
   */
  driver?: string;
  /** Where helper programs (fuse-overlayfs) are looked up, and the test hook; default process.env. */
  env?: NodeJS.ProcessEnv;
}

export interface MergedRoot {
  /** The root's real path: the lower layer, untouched. */
  root: string;
  /** Where the merged view is inside the holder's namespace: the root's own path (and also mergedDir). */
  mergedPathInNamespace: string;
  /** The overlay's own mount point inside the namespace (`<workspace>/roots/<i>/merged`). */
  mergedDir: string;
  /**
   * The merged view reached from outside the namespace. Absolute symlinks met under it resolve against
   * the outside root: never follow them (open the root here once, then walk beneath it).
   */
  viaProc: string;
  /** The upper layer's directory on disk (where writes land). */
  upperDir: string;
  /**
   * The kernel driver's lower layer and the layers above it, for the file tools' reads of files no
   * layer holds (sandbox/host/lower-twin.ts). Absent for the other drivers.
   */
  layers?: MergedLayers;
}

export interface MergedLayers {
  /** The holder's bind of the real root (nothing mounted below it), reached from outside: `/proc/<pid>/root<workspace>/roots/<i>/lower`. */
  lowerViaProc: string;
  /** The real root's identity, which the lower layer must have. */
  dev: string;
  ino: string;
  /** Every layer directory above the lower one, top first (the upper, then the frozen checkpoints). */
  above: string[];
}

export interface WorkspaceHandle {
  name: string;
  /** The workspace's directory under the state dir. */
  dir: string;
  holderPid: number;
  merged: MergedRoot[];
  /** The driver in use (drivers.ts) and the statfs type of its merged views. */
  driver: string;
  fsType: number;
  /** The drivers `auto` passed over before this one, each with why. */
  passedOver: DriverAttempt[];
  /** What the driver in use loses against an overlay (drivers.ts), when it says. */
  driverLoses?: string;
  /** A command prefix that runs a program inside the workspace's namespaces (see enterArgv). */
  enterArgv(): string[];
  /** Whether the holder still runs (false after close(), a kill, or its death). */
  alive(): boolean;
  /**
   * Throws a WorkspaceError unless the holder is still the same process and every root's path inside
   * its namespace is still the overlay over the held lower directory: cheap (a few stats), meant to
   * be called before each command that enters the namespace by pid.
   */
  verify(): void;
  /** Resolves when the holder has exited, for whatever reason. */
  exited: Promise<void>;
  /** Ends the holder (so the kernel unmounts everything) and records the workspace as closed. */
  close(): Promise<void>;
}

/**
 * Opens (or makes) a workspace and mounts its merged views in a namespace held by a child process.
 * The lock, the namespace and the mounts all end with the holder; the holder ends when this process
 * closes the handle or exits in any way (its stdin reaches EOF). Errors are WorkspaceError with a
 * sentence naming the problem and the fix; a failed open changes nothing on disk but a brand-new,
 * still empty workspace, which is removed again.
 */
export async function openWorkspace(opts: OpenWorkspaceOptions): Promise<WorkspaceHandle> {
  if (process.platform !== "linux") throw new WorkspaceError("copy-on-write workspaces need Linux (overlayfs in a mount namespace)");
  const name = checkName(opts.name);
  const wanted = opts.driver ?? "auto";
  if (wanted !== "auto") driverByName(wanted);
  const env = opts.env ?? process.env;
  // The roots are judged against where the state dir will be before it is made: a refused open
  // leaves nothing behind, least of all a directory inside a root.
  const roots = canonicalRoots(opts.roots, futureStateDir(opts.stateDir));
  const stateDir = prepareStateDir(opts.stateDir, true);
  checkFilesystems(roots, stateDir);
  sweepStateDir(stateDir);

  const opened: Array<{ fd: number; id: RootIdentity }> = [];
  let madeNow = false;
  let lock: ReturnType<typeof tryLock> = null;
  try {
    for (const r of roots) opened.push(openRoot(r));
    let dir = wsDirOf(stateDir, name);
    if (!existsSync(join(dir, "manifest.json"))) {
      dir = createWorkspace(stateDir, name, opened.map((o) => o.id)).dir;
      madeNow = true;
    }
    lock = tryLock(join(dir, LOCK));
    if (!lock) throw busy(loadWorkspace(stateDir, name).manifest);
    let m = readManifest(dir);
    checkSameRoots(m, opened.map((o) => o.id));
    sweepWorkspace(dir, m);
    const { holder, driver, passedOver, manifest: prepared } = await startWithDriver(dir, m, wanted, madeNow, opened.map((o) => o.fd), lock.fd, env);
    try {
      m = { ...prepared, driver: driver.name, state: "live", holder: { pid: holder.pid, start: holder.start } };
      commitManifest(dir, m);
    } catch (err) {
      holder.child.kill("SIGKILL");
      await holder.exited;
      throw err;
    }
    // The holder keeps the lock (its descriptor 3) and the roots (bound); ours are no longer needed.
    lock.release();
    for (const o of opened) closeSync(o.fd);
    return handleFor(dir, m, holder, driver, passedOver);
  } catch (err) {
    for (const o of opened) closeSync(o.fd);
    // Only a workspace this call made and locked is removed again: another opener may own it by now.
    if (madeNow && lock) {
      try {
        removeWorkspaceDir(stateDir, wsDirOf(stateDir, name), name);
      } catch {
        // nothing of the user's is in it
      }
    }
    lock?.release();
    throw err;
  }
}

/**
 * Mounts the workspace with the driver it was made with, or, for one made by this call, with the
 * driver asked for (auto: each in drivers.ts's order until one mounts). The error when none can
 * names every driver tried and why.
 */
async function startWithDriver(
  dir: string,
  m: WorkspaceManifest,
  wanted: string,
  madeNow: boolean,
  rootFds: number[],
  lockFd: number,
  env: NodeJS.ProcessEnv,
): Promise<{ holder: Holder; driver: OverlayDriver; passedOver: DriverAttempt[]; manifest: WorkspaceManifest }> {
  let candidates: readonly OverlayDriver[];
  if (madeNow) candidates = wanted === "auto" ? DRIVERS : [driverByName(wanted)];
  else {
    const recorded = m.driver ?? "kernel";
    if (wanted !== "auto" && wanted !== recorded) {
      throw new WorkspaceError(`workspace ${m.name} was made with the ${recorded} driver and its layers are in that driver's format; open it with --overlay-driver ${recorded} (or auto)`, "usage");
    }
    candidates = [driverByName(recorded)];
  }
  const passedOver: DriverAttempt[] = [];
  for (const driver of candidates) {
    const why = driver.unavailable(env);
    if (why === null) {
      try {
        // copy: the upper layer must hold the copy (and the baseline be taken) before anything mounts it.
        const ready = driver.encoding === "copy" ? prepareCopy(dir, m, rootFds) : m;
        return { holder: await startHolder(dir, ready, rootFds, lockFd, driver, env), driver, passedOver, manifest: ready };
      } catch (err) {
        if (!(err instanceof WorkspaceError)) throw err;
        if (candidates.length === 1) throw err;
        passedOver.push({ driver: driver.name, reason: err.message });
      }
    } else {
      if (candidates.length === 1) throw new WorkspaceError(`the ${driver.name} overlay driver cannot be used here: ${why}${madeNow ? "; or choose another with --overlay-driver" : ""}`);
      passedOver.push({ driver: driver.name, reason: why });
    }
  }
  throw new WorkspaceError(`no copy-on-write driver works here; tried ${passedOver.map((a) => `${a.driver} (${a.reason})`).join("; then ")}`);
}

function busy(m: WorkspaceManifest): WorkspaceError {
  const who = stateOf(m) === "live" && m.holder ? `it is live (mounted by holder pid ${m.holder.pid})` : "another warden process is working on it";
  return new WorkspaceError(`workspace ${m.name} is in use: ${who}; close that server or wait for that command, then try again`);
}

function handleFor(dir: string, m: WorkspaceManifest, holder: Holder, driver: OverlayDriver, passedOver: DriverAttempt[]): WorkspaceHandle {
  let exited = false;
  void holder.exited.then(() => (exited = true));
  const pid = holder.pid;
  const merged = m.roots.map((r, i) => ({
    root: r.path,
    mergedPathInNamespace: r.path,
    mergedDir: join(dir, mergedRel(i)),
    viaProc: `/proc/${pid}/root${r.path}`,
    upperDir: join(dir, "roots", String(i), "layers", m.upper.id),
    ...(driver.name === "kernel" ? { layers: { lowerViaProc: `/proc/${pid}/root${join(dir, lowerRel(i))}`, dev: r.dev, ino: r.ino, above: layerDirsTopFirst(dir, m, i) } } : {}),
  }));
  const enter = isRoot()
    ? ["nsenter", `--target=${pid}`, "--mount", "--"]
    : ["nsenter", `--target=${pid}`, "--user", "--mount", "--preserve-credentials", "--"];
  return {
    name: m.name,
    dir,
    holderPid: pid,
    merged,
    driver: driver.name,
    fsType: driver.fsMagic ?? Number(statfsSync(merged[0]!.upperDir).type),
    passedOver,
    ...(driver.loses ? { driverLoses: driver.loses } : {}),
    enterArgv: () => [...enter],
    alive: () => !exited,
    verify() {
      if (exited || !isRunning(pid, holder.start)) throw new WorkspaceError(`the holder of workspace ${m.name} (pid ${pid}) is gone: its mounts went with it; open the workspace again`);
      verifyMounts(dir, m, pid, driver);
    },
    exited: holder.exited,
    async close() {
      if (!exited) {
        holder.child.ref(); // keep this process up until the holder is gone
        holder.child.stdin?.end();
        await holder.exited;
      }
      // Record the clean close under the lock, and only if the manifest still names this holder.
      let l: ReturnType<typeof tryLock> = null;
      try {
        l = tryLock(join(dir, LOCK));
        const now = l ? readManifest(dir) : null;
        if (now?.holder?.pid === pid && now.holder.start === holder.start) commitManifest(dir, { ...now, state: "closed", holder: null });
      } catch {
        // discarded meanwhile: nothing to record
      } finally {
        l?.release();
      }
    },
  };
}
