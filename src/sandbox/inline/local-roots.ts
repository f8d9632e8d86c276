import { readFileSync, statfsSync } from "node:fs";
import type { Preopen } from "../types.js";

/**
 * statfs(2) magic numbers of filesystems whose calls are served by this kernel from memory or a
 * local disk: a call on them cannot wait on a network peer or a user-space server. Anything else
 * (NFS, CIFS, 9p, FUSE, autofs, unknown) keeps its roots off the main thread.
 */
const LOCAL_MAGIC = new Set([
  0xef53, // ext2/3/4
  0x58465342, // xfs
  0x9123683e, // btrfs
  0x01021994, // tmpfs
  0x858458f6, // ramfs
  0x794c7630, // overlayfs
  0x2fc12fc1, // zfs
  0xf2f52010, // f2fs
  0xca451a4e, // bcachefs
]);

/** The same set by the names /proc/self/mountinfo gives (for mounts inside a root), plus kernel pseudo filesystems. */
const LOCAL_TYPES = new Set(["ext2", "ext3", "ext4", "xfs", "btrfs", "tmpfs", "ramfs", "overlay", "zfs", "f2fs", "bcachefs"]);
const PSEUDO_TYPES = new Set(["proc", "sysfs", "devtmpfs", "devpts", "mqueue", "cgroup", "cgroup2", "nsfs", "bpf", "tracefs", "debugfs", "securityfs", "pstore", "configfs", "hugetlbfs", "binfmt_misc", "fusectl"]);

/** How long a root's answer is reused before statfs and mountinfo are read again. */
const RECHECK_MS = 1000;

export interface FilesystemProbe {
  /** statfs(2) f_type of the filesystem holding `path`. */
  statfsType(path: string): number;
  /** The text of /proc/self/mountinfo. */
  mountinfo(): string;
}

const hostProbe: FilesystemProbe = {
  statfsType: (path) => statfsSync(path).type,
  mountinfo: () => readFileSync("/proc/self/mountinfo", "utf8"),
};

/**
 * Tells whether every root of a scope lies on a local filesystem, with no other kind of mount
 * inside it; only then may a call on those roots run on the main thread (a call that waits on a
 * network filesystem there would stall every client). Fails closed: an error, an unknown type, a
 * FUSE or network mount at or below the root all say "not local". Answers are kept per root for a
 * second, so a mount made later is noticed within that time.
 */
export class LocalRoots {
  private readonly known = new Map<string, { local: boolean; at: number }>();
  private mounts: { text: string; at: number } | null = null;

  constructor(private readonly probe: FilesystemProbe = hostProbe) {}

  allLocal(preopens: readonly Preopen[]): boolean {
    const now = performance.now();
    for (const p of preopens) {
      const key = p.held ? `${p.hostPath}\0${p.held.fd}` : p.hostPath;
      let entry = this.known.get(key);
      if (!entry || now - entry.at > RECHECK_MS) {
        entry = { local: this.check(p, now), at: now };
        if (this.known.size > 256) this.known.clear();
        this.known.set(key, entry);
      }
      if (!entry.local) return false;
    }
    return true;
  }

  private check(root: Preopen, now: number): boolean {
    try {
      // The held descriptor is the directory the run will open (config/held-roots.ts).
      const type = this.probe.statfsType(root.held ? `/proc/self/fd/${root.held.fd}` : root.hostPath);
      if (!LOCAL_MAGIC.has(type >>> 0)) return false;
      // A copy-on-write workspace's view (serve --overlay) is an overlay whatever its layers lie on.
      // Its bottom layer is the real tree, the root's path in this process's namespace: that must be
      // local too. The layers above lie in the state dir, on a filesystem overlayfs takes as an upper
      // layer (user xattrs, d_type, whiteouts): never NFS or CIFS.
      if (root.held?.via !== undefined && !LOCAL_MAGIC.has(this.probe.statfsType(root.hostPath) >>> 0)) return false;
      if (!this.mounts || now - this.mounts.at > RECHECK_MS) this.mounts = { text: this.probe.mountinfo(), at: now };
      return mountsUnder(this.mounts.text, root.hostPath).every((fstype) => LOCAL_TYPES.has(fstype) || PSEUDO_TYPES.has(fstype));
    } catch {
      return false;
    }
  }
}

/** Filesystem types of the mounts at or below `dir`, from /proc/self/mountinfo text (proc(5)). */
export function mountsUnder(mountinfo: string, dir: string): string[] {
  const prefix = dir.endsWith("/") ? dir : dir + "/";
  const types: string[] = [];
  for (const line of mountinfo.split("\n")) {
    const fields = line.split(" ");
    const sep = fields.indexOf("-");
    if (sep < 5) continue;
    const point = unescapeMountPath(fields[4]!);
    if (point === dir || point.startsWith(prefix)) types.push(fields[sep + 1] ?? "");
  }
  return types;
}

/** mountinfo writes space, tab, newline and backslash in paths as octal escapes. */
function unescapeMountPath(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}
