import { accessSync, constants } from "node:fs";
import { spawnSync } from "node:child_process";

/** The apt packages the engine tests need; CI installs them before `npm test`. */
export const ENGINE_PACKAGES = "docker.io busybox-static openssh-server iproute2";

/**
 * The absolute path of a binary the engine needs, or a thrown error naming the package to install.
 * Engine tests fail (never skip) on Linux when a binary is missing: the reason is the message.
 */
export function requireBinary(name: string, pkg: string, dirs = ["/usr/sbin", "/usr/bin", "/sbin", "/bin", "/usr/local/bin", "/usr/local/sbin"]): string {
  for (const dir of dirs) {
    const path = `${dir}/${name}`;
    try {
      accessSync(path, constants.X_OK);
      return path;
    } catch {
      // next
    }
  }
  throw new Error(`engine test needs \`${name}\`, which is not installed: apt-get install -y ${pkg} (CI installs: ${ENGINE_PACKAGES})`);
}

/** Engines need Linux and root (dockerd, netns, useradd). Returns the reason they cannot run, or null. */
export function engineUnsupported(): string | null {
  if (process.platform !== "linux") return `the engine tests start dockerd, sshd and network namespaces, which need Linux (this is ${process.platform})`;
  return null;
}

/** Requires root for engines that need it: a clear failure, not a skip. */
export function requireRoot(what: string): void {
  if (typeof process.getuid === "function" && process.getuid() !== 0) {
    throw new Error(`${what} needs root (CI runs as root); run the engine tests as root`);
  }
}

/** Runs a command synchronously; throws with its stderr when it fails. */
export function sh(file: string, args: string[], input?: string): string {
  const r = spawnSync(file, args, { encoding: "utf8", input, timeout: 60_000 });
  if (r.error) throw new Error(`${file} ${args.join(" ")}: ${r.error.message}`);
  if (r.status !== 0) throw new Error(`${file} ${args.join(" ")} exited ${r.status}: ${(r.stderr || r.stdout).trim()}`);
  return r.stdout;
}
