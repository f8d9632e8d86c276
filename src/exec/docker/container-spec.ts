import { SANDBOX_HOME } from "../native/mount-plan.js";
import type { ExecRequest } from "../types.js";
import type { DockerBindMount } from "./container-mounts.js";

/** Label on every container this project creates; the value is the server session id. */
export const SESSION_LABEL = "io.mcp-warden.session";
/** Pid of the warden process that owns the container (stale cleanup: owner dead means remove). */
export const OWNER_PID_LABEL = "io.mcp-warden.owner-pid";
/** Host name of the owner: a pid is only meaningful on the host that issued it. */
export const OWNER_HOST_LABEL = "io.mcp-warden.owner-host";

/** Host directories bound read-only in `volume_mount` mode (those that exist on the host). */
export const HOST_BINARY_DIRS = ["/usr", "/bin", "/lib", "/lib64", "/etc/alternatives"];

export interface ContainerScope {
  image: string;
  user: string;
  cpus: number;
  /**
   * Roots, pins (directories between a root and a nested root or a deny mask, bound onto
   * themselves) and deny masks, from the mount plan (container-mounts.ts dockerMounts).
   */
  mounts: DockerBindMount[];
  limits: Pick<ExecRequest["limits"], "memoryMb" | "processes" | "network">;
  /** Host binary directories to bind read-only (volume_mount mode); empty otherwise. */
  hostBinaries: string[];
  session: string;
  ownerPid: number;
  ownerHost: string;
}

/**
 * The Docker Engine `POST /containers/create` body for one session container, built from the scope
 * alone (pure). Everything that confines is here: read-only root filesystem with a private tmpfs
 * /tmp, no network unless the policy allows it, all capabilities dropped, no new privileges, a
 * non-root user, an empty tmpfs HOME, memory (no extra swap), CPU and pids limits, and the mount
 * plan's binds: roots at their own paths with their access, pins, and the empty read-only file and
 * directory over what filesystem.deny hides. PID 1 is docker's init so finished commands are reaped.
 */
export function containerSpec(scope: ContainerScope): Record<string, unknown> {
  const binds = scope.hostBinaries.map((dir) => `${dir}:${dir}:ro`);
  const memory = scope.limits.memoryMb * 1024 * 1024;
  return {
    Image: scope.image,
    Cmd: ["sleep", "2147483647"],
    User: scope.user,
    WorkingDir: "/tmp",
    Env: [],
    Labels: {
      [SESSION_LABEL]: scope.session,
      [OWNER_PID_LABEL]: String(scope.ownerPid),
      [OWNER_HOST_LABEL]: scope.ownerHost,
    },
    NetworkDisabled: !scope.limits.network,
    HostConfig: {
      Init: true,
      Binds: binds,
      Mounts: scope.mounts,
      NetworkMode: scope.limits.network ? "bridge" : "none",
      ReadonlyRootfs: true,
      // The bridge points HOME at the same empty directory the native sandbox uses.
      Tmpfs: { "/tmp": "rw,nosuid,nodev,size=256m,mode=1777", [SANDBOX_HOME]: "rw,nosuid,nodev,size=64m,mode=1777" },
      Memory: memory,
      MemorySwap: memory,
      NanoCpus: Math.round(scope.cpus * 1e9),
      PidsLimit: scope.limits.processes,
      CapDrop: ["ALL"],
      SecurityOpt: ["no-new-privileges"],
      IpcMode: "private",
      AutoRemove: false,
    },
  };
}

/** Key of the container a request can run in: same roots (and access) and same limits. */
export function scopeKey(roots: ExecRequest["roots"], limits: ContainerScope["limits"]): string {
  const r = [...roots].map((x) => `${x.writable ? "rw" : "ro"}:${x.path}`).sort();
  return JSON.stringify([r, limits.memoryMb, limits.processes, limits.network]);
}
