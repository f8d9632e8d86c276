import type { HostLayout } from "./host-layout.js";

/** Where HOME points inside the sandbox: an empty tmpfs, so no dotfile or credential of the user is visible. */
export const SANDBOX_HOME = "/home/warden";

export interface BwrapScope {
  roots: { path: string; writable: boolean }[];
  cwd: string;
  network: boolean;
}

/**
 * The bubblewrap arguments for one command, built from the scope alone (pure; tested in isolation).
 * The sandbox root is an empty tmpfs: only system directories (read-only, /etc secrets masked),
 * a private /tmp, an empty HOME and the roots exist in it. Deeper roots are bound after shallower
 * ones so a read-only root inside a read-write root stays read-only.
 */
export function bwrapArgs(scope: BwrapScope, layout: HostLayout): string[] {
  const args = [
    "--unshare-pid",
    "--unshare-ipc",
    ...(scope.network ? [] : ["--unshare-net"]),
    "--die-with-parent",
    "--new-session",
    "--cap-drop",
    "ALL",
  ];
  for (const entry of layout.system) {
    if (entry.symlink !== undefined) args.push("--symlink", entry.symlink, entry.path);
    else args.push("--ro-bind", entry.path, entry.path);
  }
  // HOME and /var/tmp are plain directories on bubblewrap's own root tmpfs: private to this
  // sandbox and empty, without the cost of another mount.
  args.push("--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp", "--dir", "/var/tmp", "--dir", SANDBOX_HOME);
  const roots = [...scope.roots].sort((a, b) => depth(a.path) - depth(b.path));
  for (const root of roots) args.push(root.writable ? "--bind" : "--ro-bind", root.path, root.path);
  // Masks last, so that a root covering /etc (or /) cannot uncover the host's secrets.
  for (const file of layout.maskedFiles) args.push("--ro-bind", "/dev/null", file);
  for (const dir of layout.maskedDirs) args.push("--tmpfs", dir);
  args.push("--chdir", scope.cwd);
  return args;
}

function depth(path: string): number {
  return path === "/" ? 0 : path.split("/").length;
}
