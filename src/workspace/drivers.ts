import { existsSync } from "node:fs";
import { whichSync } from "../exec/native/which.js";
import { WorkspaceError } from "./errors.js";
import { copyDriver } from "./copy/driver.js";
import { FUSE_MAGIC, OVERLAYFS_MAGIC } from "./fs-types.js";

/**
 * The ways a workspace's merged view can be made, in the order `auto` tries them. Every driver uses
 * the same layout (layers, upper, work dirs) and the same holder (holder.ts): a process owning a
 * private mount namespace in which the view is mounted on roots/<i>/merged and bound over the root's
 * own path. A driver only says how that view is mounted, what the mount looks like from outside, and
 * how its upper layers encode deletions (compose.ts reads both encodings).
 *
 * Adding a driver is one entry here (and its name in the policy schema's `workspace.driver`).
 */
export interface OverlayDriver {
  name: string;
  /** One phrase for the start-up line and get_system_info. */
  what: string;
  /** Why it cannot be used here (names the fix), or null. Cheap: no mount is tried. */
  unavailable(env: NodeJS.ProcessEnv): string | null;
  /**
   * The shell line that mounts root i's view on "roots/$i/merged", with "$2" the lowerdir option,
   * "$3" the upper and "$4" the work dir (all relative to the workspace dir, which is the cwd).
   * `extraOption` is appended to the mount options (the test hook below).
   */
  mountLine(env: NodeJS.ProcessEnv, extraOption: string): string;
  /** unshare(1) options for the user namespace a non-root server needs to mount at all. */
  userNamespace: string[];
  /** unshare(1) options beyond the mount (and user) namespace. */
  namespaces: string[];
  /**
   * statfs(2) type of the merged view, checked from outside after the mount; null when the view is
   * the upper layer itself, bound (copy): then it is checked by identity (holder.ts, verifyMounts).
   */
  fsMagic: number | null;
  /** How its upper layers mark whiteouts and opaque directories (compose.ts, xattr.ts); copy: a whole tree (copy/). */
  encoding: LayerEncoding | "copy";
  /** What it loses against an overlay, for the start-up line and get_system_info (the fallbacks say it). */
  loses?: string;
  /** What a refused mount means, naming the fix; `text` is the holder's stderr. */
  refused(text: string): string;
}

/**
 * kernel: overlayfs's `userxattr` encoding (char 0:0 whiteouts, `user.overlay.opaque`).
 * fuse: fuse-overlayfs's (char 0:0 or `.wh.NAME` whiteouts; opaque by `.wh..wh..opq` in the
 * directory, and `trusted.overlay.opaque` as root or `user.fuseoverlayfs.opaque` in a user namespace).
 */
export type LayerEncoding = "kernel" | "fuse";

const TRUSTED_BIN = ["/usr/bin", "/bin", "/usr/sbin", "/sbin", "/usr/local/bin"];

/** The directories a helper program is looked up in: PATH's absolute entries (the operator's), else the usual ones. */
function searchPath(env: NodeJS.ProcessEnv): string[] {
  const path = env.PATH?.split(":").filter((d) => d.startsWith("/"));
  return path && path.length > 0 ? path : TRUSTED_BIN;
}

const quote = (s: string): string => `'${s.replace(/'/g, "'\\''")}'`;

const kernel: OverlayDriver = {
  name: "kernel",
  what: "kernel overlayfs in a private namespace",
  unavailable: () => null,
  mountLine: (_env, extra) => `mount -t overlay overlay -o "lowerdir=$2,upperdir=$3,workdir=$4,userxattr${extra}" "roots/$i/merged"`,
  userNamespace: ["--user", "--map-root-user"],
  namespaces: [],
  fsMagic: OVERLAYFS_MAGIC,
  encoding: "kernel",
  refused: (text) =>
    `kernel overlayfs refused: ${text || "no message"}. It needs Linux >= 5.11 for unprivileged mounts (userxattr), a root on a filesystem it can use as a lower layer, and a state dir on one that keeps user.* xattrs (ext4, xfs, btrfs, tmpfs >= 6.6)`,
};

const fuse: OverlayDriver = {
  name: "fuse",
  what: "fuse-overlayfs in a private namespace (a FUSE daemon per root, slower than the kernel's)",
  unavailable(env) {
    if (!whichSync("fuse-overlayfs", searchPath(env))) return "fuse-overlayfs is not installed (not found on PATH); install the fuse-overlayfs package (Debian/Ubuntu: apt-get install fuse-overlayfs)";
    if (!existsSync("/dev/fuse")) return "/dev/fuse does not exist; load the fuse module (modprobe fuse) or, in a container, pass --device /dev/fuse";
    return null;
  },
  // The daemon forks into the background inside the holder's pid namespace (see namespaces), so it
  // dies with the holder.
  mountLine: (env, extra) => `${quote(whichSync("fuse-overlayfs", searchPath(env)) ?? "fuse-overlayfs")} -o "lowerdir=$2,upperdir=$3,workdir=$4${extra}" "roots/$i/merged"`,
  // Not root inside the user namespace: fuse-overlayfs run as uid 0 there adds allow_other, and FUSE
  // then serves only processes inside that namespace (not the server reading the view from outside).
  // As the caller's own uid, with the namespace's capabilities kept, it mounts without allow_other and
  // FUSE serves that uid: the server and its commands. Measured on Linux 6.x, fuse-overlayfs 1.10.
  userNamespace: ["--user", "--map-current-user", "--keep-caps"],
  // Its own pid namespace, the holder its init: when the holder dies for any reason the kernel kills
  // the FUSE daemon too, so no daemon keeps the namespace (and the mount) alive.
  namespaces: ["--pid", "--fork", "--kill-child"],
  fsMagic: FUSE_MAGIC,
  encoding: "fuse",
  refused: (text) => `fuse-overlayfs refused: ${text || "no message"}. It needs /dev/fuse usable in a user namespace (or root), and a state dir on a disk filesystem or tmpfs`,
};

/** Every driver, in the order `auto` tries them: copy (copy/driver.ts) is the last resort. */
export const DRIVERS: readonly OverlayDriver[] = [kernel, fuse, copyDriver];
export const DRIVER_NAMES = DRIVERS.map((d) => d.name) as [string, ...string[]];

export function driverByName(name: string): OverlayDriver {
  const d = DRIVERS.find((x) => x.name === name);
  if (!d) throw new WorkspaceError(`overlay driver "${name}" does not exist: choose auto or one of ${DRIVER_NAMES.join(", ")}`, "usage");
  return d;
}

/**
 * Test hook: `WARDEN_OVERLAY_TEST_REFUSE=kernel` (a comma list of driver names) gives those drivers'
 * mounts an option they do not know, so the real mount(2) (or fuse-overlayfs) refuses them with its
 * own error: the way a test makes `auto` fall back without a mock. Not for production use.
 */
export const TEST_REFUSE_ENV = "WARDEN_OVERLAY_TEST_REFUSE";

export function testRefusedOption(d: OverlayDriver, env: NodeJS.ProcessEnv): string {
  const names = env[TEST_REFUSE_ENV]?.split(",").map((s) => s.trim()) ?? [];
  return names.includes(d.name) ? ",warden_test_refused" : "";
}

/** What `auto` (or a forced driver) met on the way: the drivers passed over and why. */
export interface DriverAttempt {
  driver: string;
  reason: string;
}
