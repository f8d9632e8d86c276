import { posix } from "node:path";

/**
 * Whether `cwd` lies in one of `roots` (whole components, after normalizing `.` and `..`). Remote
 * hosts have their own filesystem: this is the one place the remote backends confine
 * `working_directory`, against the remote roots the policy names.
 */
export function cwdWithinRoots(cwd: string, roots: readonly string[]): boolean {
  if (!cwd.startsWith("/")) return false;
  const c = posix.normalize(cwd).replace(/(.)\/+$/, "$1");
  return roots.some((raw) => {
    const r = posix.normalize(raw).replace(/(.)\/+$/, "$1");
    return r === "/" || c === r || c.startsWith(r + "/");
  });
}
