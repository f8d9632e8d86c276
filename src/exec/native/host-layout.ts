import { existsSync, lstatSync, readdirSync, readlinkSync, statSync } from "node:fs";
import { join } from "node:path";
import { SANDBOX_SYSTEM_DIRS } from "../../config/audit-files.js";

/** How the host's system directories look, read once when the backend starts. */
export interface HostLayout {
  /**
   * Top-level system paths: bound read-only when directories (`id`: what the sandbox must show
   * there), recreated when symlinks (merged /usr).
   */
  system: { path: string; symlink?: string; id?: { dev: string; ino: string } }[];
  /** Files under /etc that hold secrets: covered by an empty read-only file inside the sandbox. */
  maskedFiles: string[];
  /** Directories under /etc that hold secrets: covered by an empty read-only directory. */
  maskedDirs: string[];
}

const SECRET_FILES = [
  "/etc/shadow",
  "/etc/shadow-",
  "/etc/gshadow",
  "/etc/gshadow-",
  "/etc/sudoers",
  "/etc/security/opasswd",
  "/etc/machine-id",
];
const SECRET_DIRS = [
  "/etc/ssl/private",
  "/etc/sudoers.d",
  "/etc/NetworkManager/system-connections",
  "/etc/wireguard",
  "/etc/docker",
  "/etc/letsencrypt",
  "/etc/ipsec.d",
];

/** Reads the layout of this host (a few lstat calls). */
export function readHostLayout(): HostLayout {
  const system: HostLayout["system"] = [];
  for (const path of SANDBOX_SYSTEM_DIRS) {
    try {
      const st = lstatSync(path);
      if (st.isSymbolicLink()) system.push({ path, symlink: readlinkSync(path) });
      else if (st.isDirectory()) {
        const id = statSync(path, { bigint: true });
        system.push({ path, id: { dev: String(id.dev), ino: String(id.ino) } });
      }
    } catch {
      // absent on this host
    }
  }
  const maskedFiles = SECRET_FILES.filter((f) => existsSync(f));
  // SSH host keys: private keys of this machine.
  try {
    for (const name of readdirSync("/etc/ssh")) if (/_key$/.test(name)) maskedFiles.push(join("/etc/ssh", name));
  } catch {
    // no /etc/ssh
  }
  const maskedDirs = SECRET_DIRS.filter((d) => existsSync(d));
  return { system, maskedFiles, maskedDirs };
}
