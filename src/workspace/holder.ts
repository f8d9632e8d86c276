import { spawn, type ChildProcess } from "node:child_process";
import { lstatSync, statfsSync, statSync } from "node:fs";
import { join } from "node:path";
import { WorkspaceError } from "./errors.js";
import { testRefusedOption, type OverlayDriver } from "./drivers.js";
import { fsName } from "./fs-types.js";
import { lowerdirOption, lowerRel, mergedRel, layerRel, workRel } from "./layout.js";
import type { WorkspaceManifest } from "./manifest.js";
import { processStartTime } from "./proc.js";

/**
 * The holder: one process that owns a private mount namespace (and, when not root, the user
 * namespace that lets it mount) in which every root's merged view is mounted. It is `unshare`,
 * then this script, then `cat` reading the server's pipe: the pipe's EOF (the server exiting,
 * however it exits) ends it, and with it the namespace's last process, so the kernel unmounts
 * everything. The upper layers stay on disk.
 *
 * For root i (arguments: real path, lowerdir, upperdir, workdir; descriptors 4+i the held roots):
 *   bind the held root (named by its descriptor, /proc/self/fd/N) onto roots/i/lower,
 *   mount the merged view on roots/i/merged (the driver's mount line: drivers.ts),
 *   bind roots/i/merged over the root's real path, so processes entering the namespace see the merged
 *   view at the root's own path.
 * Descriptor 3 is the workspace lock: the holder keeps it for its whole life.
 */
const script = (mountLine: string): string => `set -eu
cd "$1"; shift
i=0; fd=4
while [ "$#" -ge 4 ]; do
  mount --bind "/proc/self/fd/$fd" "roots/$i/lower"
  ${mountLine}
  mount --bind "roots/$i/merged" "$1"
  eval "exec $fd<&-"
  shift 4; i=$((i+1)); fd=$((fd+1))
done
echo ready
exec cat >/dev/null`;

export interface Holder {
  pid: number;
  start: string;
  child: ChildProcess;
  /** Resolves when the holder has exited (closed, killed, or its server gone). */
  exited: Promise<void>;
}

/** Whether this process maps to root in the initial user namespace (then no user namespace is needed). */
export const isRoot = (): boolean => process.geteuid?.() === 0;

/**
 * Starts the holder and waits until every root is mounted, then checks the result from outside
 * (see verifyMounts). On any failure the holder is killed and the error names the root and the cause.
 */
export async function startHolder(wsDir: string, m: WorkspaceManifest, rootFds: number[], lockFd: number, driver: OverlayDriver, env: NodeJS.ProcessEnv = process.env): Promise<Holder> {
  const args: string[] = [];
  for (const [i, r] of m.roots.entries()) args.push(r.path, lowerdirOption(m, i), layerRel(i, m.upper.id), workRel(i, m.upper.id));
  const ns = [...(isRoot() ? [] : driver.userNamespace), "--mount", "--propagation", "private", ...driver.namespaces];
  const child = spawn("unshare", [...ns, "--", "/bin/sh", "-c", script(driver.mountLine(env, testRefusedOption(driver, env))), "warden-workspace-holder", wsDir, ...args], {
    stdio: ["pipe", "pipe", "pipe", lockFd, ...rootFds],
    env,
    // Its own session: a Ctrl-C meant for the server's terminal must not unmount under it. It still
    // ends with the server, by the pipe.
    detached: true,
  });
  // 'error' without 'exit' when unshare cannot even be started.
  const exited = new Promise<void>((res) => {
    child.once("exit", () => res());
    child.once("error", () => res());
  });
  let stderr = "";
  child.stderr!.setEncoding("utf8").on("data", (d: string) => (stderr = (stderr + d).slice(-4000)));
  const ready = await new Promise<boolean>((res) => {
    let out = "";
    child.stdout!.setEncoding("utf8").on("data", (d: string) => {
      out += d;
      if (out.includes("ready\n")) res(true);
    });
    child.once("error", (err) => {
      stderr += `${err.message}\n`;
      res(false);
    });
    child.once("exit", () => res(false));
  });
  if (!ready) {
    child.kill("SIGKILL");
    await exited;
    throw mountFailure(driver, stderr);
  }
  const pid = child.pid!;
  const start = processStartTime(pid);
  try {
    if (start === null) throw new WorkspaceError(`the workspace holder (pid ${pid}) exited right after mounting: ${stderr.trim() || "no message"}`);
    verifyMounts(wsDir, m, pid, driver);
  } catch (err) {
    child.kill("SIGKILL");
    await exited;
    throw err;
  }
  // Nothing more is read; an unclosed workspace must not keep the server's event loop alive.
  child.stdout!.destroy();
  child.stderr!.removeAllListeners("data").resume();
  for (const s of [child.stdout, child.stderr]) (s as unknown as { unref?: () => void }).unref?.();
  (child.stdin as unknown as { unref?: () => void }).unref?.();
  child.unref();
  return { pid, start, child, exited };
}

/**
 * Checks, from outside the namespace, that each root's real directory is the lower layer (device and
 * inode of the held root) and that the root's path inside the namespace is the overlay mounted on
 * roots/i/merged: the mount did what was planned, whatever mount(8) did with its arguments.
 */
export function verifyMounts(wsDir: string, m: WorkspaceManifest, pid: number, driver: OverlayDriver): void {
  const inNs = (p: string) => `/proc/${pid}/root${p}`;
  for (const [i, r] of m.roots.entries()) {
    const lower = lstatSync(inNs(join(wsDir, lowerRel(i))), { bigint: true });
    if (String(lower.dev) !== r.dev || String(lower.ino) !== r.ino) throw new WorkspaceError(`the lower layer of root ${r.path} is not the directory the workspace holds (mount check failed); nothing was changed`);
    const mergedAt = statSync(inNs(join(wsDir, mergedRel(i))), { bigint: true });
    const real = statSync(inNs(r.path), { bigint: true });
    const type = statfsSync(inNs(r.path)).type;
    // copy: the view is the upper layer itself, so it must be that very directory (and not the real root).
    const upper = driver.fsMagic === null ? statSync(join(wsDir, layerRel(i, m.upper.id)), { bigint: true }) : null;
    const wrongFs = upper ? upper.dev !== real.dev || upper.ino !== real.ino : Number(type) !== driver.fsMagic;
    if (wrongFs || real.dev !== mergedAt.dev || real.ino !== mergedAt.ino) {
      throw new WorkspaceError(`root ${r.path} inside the workspace's namespace is ${fsName(type)}, not the ${driver.name} driver's view (mount check failed); nothing was changed`);
    }
  }
}

function mountFailure(driver: OverlayDriver, stderr: string): WorkspaceError {
  const text = stderr.trim();
  if (/unshare: .*(Operation not permitted|Permission denied|Invalid argument)/.test(text) || /unshare failed/.test(text)) {
    return new WorkspaceError(
      `cannot create a private user and mount namespace for the workspace (${text.split("\n")[0]}); unprivileged user namespaces must be enabled (sysctl kernel.unprivileged_userns_clone=1, user.max_user_namespaces > 0, and no AppArmor restriction on them), or run as root`,
    );
  }
  if (/ENOENT|not found|No such file/.test(text) && /unshare|mount|sh:/.test(text) && !/mount:/.test(text) && !/fuse/.test(text)) {
    return new WorkspaceError(`cannot start the workspace holder: ${text}; it needs unshare and mount from util-linux`);
  }
  // One line (mount(8) wraps its message), for the start-up line and auto's list of reasons.
  return new WorkspaceError(driver.refused(text.replace(/\s+/g, " ").replace(/\.+$/, "")));
}
