import type { DenyMasks } from "./deny-masks.js";
import type { HostLayout } from "./host-layout.js";

/** Where HOME points inside the sandbox: an empty tmpfs, so no dotfile or credential of the user is visible. */
export const SANDBOX_HOME = "/home/warden";

export interface BwrapScope {
  roots: { path: string; writable: boolean }[];
  cwd: string;
  network: boolean;
  /** Paths inside the roots that match filesystem.deny (deny-masks.ts), hidden from the command. */
  masks?: DenyMasks;
  /** An empty, read-only host file that covers masked files (needed when masks.files is not empty). */
  emptyFile?: string;
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
  // Roots, and the pins of deny masks (directories bound onto themselves so they cannot be renamed),
  // shallow before deep: a deeper read-only root must come after a pin above it, or the pin (a
  // recursive bind of the host directory) would cover it read-write. A pin gets the access of the
  // innermost root holding it.
  const masks = scope.masks;
  const rootPaths = new Set(scope.roots.map((r) => r.path));
  const binds = [
    ...scope.roots,
    ...(masks?.pins ?? []).filter((p) => !rootPaths.has(p)).map((path) => ({ path, writable: innermostRoot(path, scope.roots)?.writable ?? false })),
  ].sort((a, b) => depth(a.path) - depth(b.path));
  for (const bind of binds) args.push(bind.writable ? "--bind" : "--ro-bind", bind.path, bind.path);
  // Masks last, so that a root covering /etc (or /) cannot uncover the host's secrets, and a root
  // cannot uncover a deny match inside another. Directories first: file masks are never inside them.
  for (const file of layout.maskedFiles) args.push("--ro-bind", "/dev/null", file);
  for (const dir of layout.maskedDirs) args.push("--tmpfs", dir);
  for (const dir of masks?.dirs ?? []) args.push("--tmpfs", dir, "--remount-ro", dir);
  if (masks && masks.files.length > 0) {
    if (!scope.emptyFile) throw new Error("bwrapArgs: file masks need an empty file to bind");
    for (const file of masks.files) args.push("--ro-bind", scope.emptyFile, file);
  }
  args.push("--chdir", scope.cwd);
  return args;
}

function innermostRoot<R extends { path: string }>(path: string, roots: readonly R[]): R | undefined {
  let best: R | undefined;
  for (const r of roots) {
    const under = r.path === "/" || path === r.path || path.startsWith(r.path + "/");
    if (under && (!best || depth(r.path) > depth(best.path))) best = r;
  }
  return best;
}

function depth(path: string): number {
  return path === "/" ? 0 : path.split("/").length;
}
