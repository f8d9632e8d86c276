import { posix } from "node:path";
import { deny, type Decision } from "../decision.js";
import { isWithin } from "../roots.js";
import type { DecideContext } from "./context.js";

/** Device files a redirection may name: the standard streams and the null device. */
const DEVICES: Record<string, "rw" | "write" | "read"> = {
  "/dev/null": "rw",
  "/dev/stdout": "write",
  "/dev/stderr": "write",
  "/dev/stdin": "read",
  "/dev/fd/0": "read",
  "/dev/fd/1": "write",
  "/dev/fd/2": "write",
};

/**
 * Whether a file a command names (redirection target, `tee` file, `find -fprint` file, ...) obeys the
 * filesystem policy: inside a root (read-write for writes), not hidden by a deny glob (the sandbox's
 * matcher, so a denied directory hides what lies below it). Lexical, relative to the command's cwd:
 * symlinks are the OS confinement's business. Null when fine.
 */
export function checkTarget(ctx: DecideContext, path: string, mode: "read" | "write", what: string): Decision | null {
  const dev = DEVICES[path];
  if (dev === "rw" || (dev !== undefined && dev === mode)) return null;
  if (path === "") return deny("redirect_outside_roots", `${what}: empty file name`);
  if (!path.startsWith("/") && ctx.changesDir) {
    return deny("redirect_after_cd", `${what}: relative path ${path} in a script that changes directory`);
  }
  const abs = posix.resolve(ctx.env.cwd, path);
  const root = [...ctx.env.roots].sort((a, b) => b.path.length - a.path.length).find((r) => isWithin(r.path, abs));
  if (!root) return deny("redirect_outside_roots", `${what}: ${abs} is outside the roots`);
  if (mode === "write" && !root.writable) return deny("redirect_read_only_root", `${what}: ${abs} is in read-only root ${root.path}`);
  // The sandbox's matcher, prefixes included: a denied directory hides every file below it.
  const hit = ctx.denyRules.match(posix.relative(root.path, abs));
  if (hit !== null) return deny(`filesystem.deny[${ctx.policy.filesystem.deny.indexOf(hit)}]`, `${what}: ${abs} is hidden by ${hit}`);
  return null;
}

/** True when `path` (absolute) lies inside a read-write root: files there are agent-written. */
export function inWritableRoot(ctx: DecideContext, path: string): boolean {
  return ctx.env.roots.some((r) => r.writable && isWithin(r.path, path));
}
