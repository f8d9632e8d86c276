import { posix } from "node:path";
import { isWithin, type EffectiveRoot } from "../../policy/roots.js";
import type { ResolvedWorkingDirectory } from "../types.js";
import { shellQuote } from "../shell-quote.js";

/**
 * Remote hosts have their own filesystem: this is the one place the ssh backend confines
 * `working_directory`. The directory and the roots are canonicalized ON the remote host (one shell
 * round trip, `cd -P` + `pwd -P`, so symlinks and `..` resolve there), then compared by whole
 * components like src/policy/roots.ts. A local realpath would judge another machine's paths.
 */

/** First bytes of the answer: anything the remote user's shell start-up printed before it is skipped. */
export const RESOLVE_MARKER = "warden-cwd:";

/** Exit status of the resolve script when working_directory cannot be entered. */
const NO_DIRECTORY = 3;

export type ResolvePlan = { ok: true; command: string } | { ok: false; rule: string; reason: string };

/**
 * The remote script that canonicalizes each root and then `path` (absolute, or relative to the
 * first root; undefined: the first root). Its answer is NUL-separated (a path may hold any other
 * byte): the marker, one entry per root (empty when it cannot be entered), then the directory.
 * Paths with NUL or a newline are refused before anything is sent.
 */
export function buildResolveCommand(path: string | undefined, roots: readonly string[]): ResolvePlan {
  if (roots.length === 0) return { ok: false, rule: "execution.no_root", reason: "there is no remote root to run commands in" };
  if (roots.some((r) => !r.startsWith("/") || /[\0\n]/.test(r))) return { ok: false, rule: "execution.ssh.roots", reason: "a remote root is not an absolute path without NUL or newline" };
  if (path !== undefined && (path === "" || /[\0\n\r]/.test(path))) return { ok: false, rule: "execution.working_directory", reason: "working_directory must be a non-empty path without NUL or newline" };
  const wanted = path === undefined ? roots[0]! : path.startsWith("/") ? path : `${roots[0]!.replace(/\/+$/, "")}/${path}`;
  const command = [
    `printf '${RESOLVE_MARKER}\\000'`,
    `for r in ${roots.map(shellQuote).join(" ")}; do if cd -P -- "$r" 2>/dev/null; then pwd -P; fi; printf '\\000'; done`,
    `cd -P -- ${shellQuote(wanted)} 2>/dev/null || exit ${NO_DIRECTORY}`,
    `pwd -P; printf '\\000'`,
  ].join("\n");
  return { ok: true, command };
}

/**
 * Reads the resolve script's answer and decides: the directory must exist there and lie inside a
 * root that exists there, both canonical. Returns the canonical roots (configured spelling kept as
 * an alias) so the command policy judges paths by the same names. Fails closed on any odd answer.
 */
export function decideResolved(answer: { code: number | null; stdout: string }, roots: readonly EffectiveRoot[]): ResolvedWorkingDirectory {
  const start = answer.stdout.indexOf(`${RESOLVE_MARKER}\0`);
  if (start < 0) return { ok: false, rule: "execution.working_directory", reason: `the remote shell gave no answer when resolving working_directory (exit ${answer.code})` };
  const parts = answer.stdout.slice(start + RESOLVE_MARKER.length + 1).split("\0");
  const entry = (i: number) => (parts[i] ?? "").replace(/\n$/, "");
  const canonical: EffectiveRoot[] = [];
  roots.forEach((r, i) => {
    const real = entry(i);
    if (!real.startsWith("/") || real.includes("\n")) return;
    canonical.push({ path: real, writable: r.writable, ...(real !== r.path ? { aliases: [...new Set([r.path, ...(r.aliases ?? [])])] } : {}) });
  });
  const listed = roots.map((r) => r.path).join(", ");
  const nested = nestingBroken(roots.map((r, i) => ({ path: r.path, real: entry(i) })));
  if (nested) return { ok: false, rule: "roots.moved", reason: nested };
  if (canonical.length === 0) return { ok: false, rule: "execution.no_root", reason: `none of the remote roots (${listed}) exists on the remote host` };
  if (answer.code === NO_DIRECTORY) return { ok: false, rule: "execution.working_directory", reason: "working_directory does not exist on the remote host (or is not a directory the remote user can enter)" };
  const cwd = entry(roots.length);
  if (answer.code !== 0 || parts.length < roots.length + 2 || !cwd.startsWith("/")) {
    return { ok: false, rule: "execution.working_directory", reason: `working_directory could not be resolved on the remote host (exit ${answer.code})` };
  }
  if (cwd.includes("\n")) return { ok: false, rule: "execution.working_directory", reason: "working_directory resolves to a path with a newline" };
  if (!canonical.some((r) => isWithin(r.path, cwd))) {
    return { ok: false, rule: "execution.ssh.roots", reason: `working_directory resolves (on the remote host) outside the remote roots (${listed})` };
  }
  return { ok: true, cwd, roots: canonical };
}

/**
 * Whether `cwd` lies in one of `roots` (whole components, after normalizing `.` and `..`): the
 * backends' last check on a request, by name only. The bridge has already canonicalized `cwd`
 * (remotely for ssh, see decideResolved); this refuses a request that bypassed it.
 */
export function cwdWithinRoots(cwd: string, roots: readonly string[]): boolean {
  if (!cwd.startsWith("/")) return false;
  const c = posix.normalize(cwd).replace(/(.)\/+$/, "$1");
  return roots.some((raw) => {
    const r = posix.normalize(raw).replace(/(.)\/+$/, "$1");
    return r === "/" || c === r || c.startsWith(r + "/");
  });
}

/** The refusal of a remote root that no longer resolves where it did. */
export function remoteRootMoved(path: string, now: string, was: string): string {
  return `remote root ${path} now resolves to ${now || "nothing"} on the remote host, not ${was} (a directory on its way was moved or replaced by a symlink); nothing runs until it is put back, or restart the server`;
}

/**
 * A root configured inside another must resolve inside that one's resolution: otherwise a
 * directory on its way inside the outer root (which commands may write) was replaced by a symlink,
 * and the inner root would name whatever the link points to (`/`). Returns why, or null. Pure.
 */
function nestingBroken(roots: readonly { path: string; real: string }[]): string | null {
  for (const inner of roots) {
    for (const outer of roots) {
      if (inner === outer || inner.path === outer.path || !isWithin(outer.path, inner.path)) continue;
      if (!outer.real.startsWith("/") || !inner.real.startsWith("/")) continue; // missing: judged below
      const where = `${outer.real.replace(/\/$/, "")}${inner.path.slice(outer.path.length)}`;
      if (!isWithin(outer.real, inner.real)) return remoteRootMoved(inner.path, inner.real, where);
    }
  }
  return null;
}

/**
 * Remote roots are held by where they first resolved (the server holds no descriptor on the remote
 * host): `pins` maps each spelling of a root (configured, canonical) to its first canonical path.
 * Returns the pins with this answer's first sightings added, or the refusal of a root that now
 * resolves elsewhere (replaced by a symlink since) or no longer resolves at all (moved away).
 * `configured` are the roots asked about, `resolved` the answer's canonical roots. Pure.
 */
export function checkRootPins(configured: readonly string[], resolved: readonly EffectiveRoot[], pins: ReadonlyMap<string, string>): { ok: true; pins: Map<string, string> } | { ok: false; rule: string; reason: string } {
  const next = new Map(pins);
  const names = new Set<string>();
  for (const r of resolved) {
    for (const name of [r.path, ...(r.aliases ?? [])]) {
      names.add(name);
      const was = next.get(name);
      if (was === undefined) next.set(name, r.path);
      else if (was !== r.path) return { ok: false, rule: "roots.moved", reason: remoteRootMoved(name, r.path, was) };
    }
  }
  for (const path of configured) {
    const was = pins.get(path);
    if (was !== undefined && !names.has(path)) return { ok: false, rule: "roots.moved", reason: remoteRootMoved(path, "", was) };
  }
  return { ok: true, pins: next };
}
