/**
 * Filesystems overlayfs cannot build on, by statfs magic number, so an open fails with a sentence
 * naming the filesystem and the fix rather than mount's "wrong fs type, bad option". The lists are
 * what the kernel refuses (or what cannot hold user.* xattrs and whiteouts); anything else is tried,
 * and a refusal is still reported with the filesystem's name.
 */
const NAMES: Record<number, string> = {
  0x9fa0: "proc",
  0x62656572: "sysfs",
  0x794c7630: "overlayfs",
  0x6969: "NFS",
  0x65735546: "FUSE",
  0x858458f6: "ramfs",
  0x73717368: "squashfs",
  0x9660: "iso9660",
  0x61756673: "aufs",
  0xff534d42: "CIFS",
  0xfe534d42: "SMB2",
  0x01021994: "tmpfs",
  0xef53: "ext4",
  0x58465342: "xfs",
  0x9123683e: "btrfs",
  0x2fc12fc1: "zfs",
  0x1cd1: "devpts",
  0x27e0eb: "cgroup",
  0x63677270: "cgroup2",
  0x64626720: "debugfs",
  0x74726163: "tracefs",
  0x42494e4d: "binfmt_misc",
  0x73636673: "securityfs",
};

/** As a lower layer (the root itself): overlayfs refuses these. */
const BAD_LOWER = new Set([0x9fa0, 0x1cd1, 0x27e0eb, 0x63677270, 0x64626720, 0x74726163, 0x42494e4d, 0x73636673]);

/** As the upper layer (the state dir): these cannot hold overlayfs's upper layer. */
const BAD_UPPER = new Set([...BAD_LOWER, 0x62656572, 0x794c7630, 0x6969, 0x65735546, 0x858458f6, 0x73717368, 0x9660, 0x61756673, 0xff534d42, 0xfe534d42]);

export function fsName(type: number | bigint): string {
  const t = Number(type);
  return NAMES[t] ?? `filesystem type 0x${t.toString(16)}`;
}

export const refusedAsLower = (type: number | bigint): boolean => BAD_LOWER.has(Number(type));
export const refusedAsUpper = (type: number | bigint): boolean => BAD_UPPER.has(Number(type));
export const OVERLAYFS_MAGIC = 0x794c7630;
export const FUSE_MAGIC = 0x65735546;
