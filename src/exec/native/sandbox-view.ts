import { posix } from "node:path";
import { compileDenyRules } from "../../policy/path-rules.js";
import { isWithin } from "../../policy/roots.js";
import { SANDBOX_HOME } from "./mount-plan.js";
import type { HostLayout } from "./host-layout.js";

/** What a command confined by the native backend (bubblewrap) sees at a host path. */
export interface SandboxPathView {
  effect: "hidden" | "absent" | "read-only" | "private";
  why: string;
  /** The absolute path judged (relative paths resolve against the command's working directory). */
  path: string;
}

/** What bubblewrap's `--dev` provides (and the standard streams): seen as on the host. */
const SANDBOX_DEVICES = /^\/dev\/(null|zero|full|random|urandom|tty|ptmx|pts(\/.*)?|shm(\/.*)?|stdin|stdout|stderr|fd(\/.*)?)$/;

export interface SandboxViewScope {
  roots: { path: string; writable: boolean }[];
  /** policy filesystem.deny. */
  denyGlobs: string[];
  /** The command's working directory (relative paths are resolved against it). */
  cwd: string;
  layout: HostLayout;
}

/**
 * The native sandbox's view of each path, read off the same facts its mount plan is built from
 * (mount-plan.ts: host layout, roots, deny masks), for `warden check`: null when the command sees
 * the host path as it is (inside a read-write root, not hidden). `~` means the sandbox's HOME. Pure.
 */
export function sandboxPathViewer(scope: SandboxViewScope): (path: string) => SandboxPathView | null {
  const judge = viewer(scope);
  return (path) => {
    const abs = /^~(\/|$)/.test(path) ? SANDBOX_HOME + path.slice(1) : posix.resolve(scope.cwd, path);
    const seen = judge(path, abs);
    return seen ? { ...seen, path: abs } : null;
  };
}

function viewer(scope: SandboxViewScope): (path: string, abs: string) => Omit<SandboxPathView, "path"> | null {
  const deny = compileDenyRules(scope.denyGlobs);
  const rootsDeepFirst = [...scope.roots].sort((a, b) => b.path.length - a.path.length);
  const system = scope.layout.system.map((s) => s.path);
  return (path, abs) => {
    if (/^~[^/]/.test(path)) return { effect: "absent", why: "other users' home directories do not exist in the sandbox" };
    const home = path.startsWith("~");
    // Masks are mounted last and cover roots too (mountPlan), so they are judged first.
    if (scope.layout.maskedFiles.includes(abs)) {
      return { effect: "hidden", why: "a host secret: the sandbox shows an empty file there (masked, src/exec/native/host-layout.ts)" };
    }
    const dir = scope.layout.maskedDirs.find((d) => isWithin(d, abs));
    if (dir) return { effect: "hidden", why: `a host secret: ${dir} is an empty directory in the sandbox (masked, src/exec/native/host-layout.ts)` };
    const root = rootsDeepFirst.find((r) => isWithin(r.path, abs));
    if (root) {
      const glob = deny.match(posix.relative(root.path, abs));
      if (glob !== null) return { effect: "hidden", why: `matches filesystem.deny ${glob}: the sandbox shows it empty, as the file tools hide it` };
      return root.writable ? null : { effect: "read-only", why: `inside read-only root ${root.path}` };
    }
    if (isWithin(SANDBOX_HOME, abs)) {
      return { effect: "absent", why: `${home ? "~ is HOME, which" : `${SANDBOX_HOME} (HOME)`} is an empty directory in the sandbox: no dotfile or key of the user is there` };
    }
    if (isWithin("/tmp", abs) || isWithin("/var/tmp", abs)) return { effect: "private", why: "the sandbox has its own empty /tmp and /var/tmp, not the host's" };
    if (isWithin("/proc", abs)) return { effect: "private", why: "the sandbox's own /proc: host processes are invisible" };
    if (isWithin("/dev", abs)) {
      return SANDBOX_DEVICES.test(abs) ? null : { effect: "absent", why: "the sandbox has a minimal /dev (null, zero, full, random, urandom, tty, ptmx, pts, shm): no disks" };
    }
    if (system.some((s) => isWithin(s, abs))) return { effect: "read-only", why: "a host system directory, bound read-only" };
    return { effect: "absent", why: "outside the roots and the system directories: it does not exist in the sandbox" };
  };
}
