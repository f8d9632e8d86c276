import { realpathSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { auditCompanions } from "../audit/file-log.js";
import { isWithin, type EffectiveRoot } from "../policy/roots.js";
import type { Policy } from "../policy/schema/index.js";

/** The audit log and the two files that protect it, as canonical absolute paths. */
export interface AuditFiles {
  log: string;
  key: string;
  head: string;
}

/**
 * Where the audit log, its key and its head live: `--audit-log`, then WARDEN_AUDIT_LOG, then the
 * policy's `audit.file` (key: WARDEN_AUDIT_KEY, then `audit.key_file`, then beside the log; head
 * likewise). Null without a log. Each path is canonical: the real path of its nearest existing
 * directory plus the rest, so no symlink above it hides where it really is (the files themselves are
 * opened with O_NOFOLLOW).
 */
export function resolveAuditFiles(input: { auditLog?: string; env: NodeJS.ProcessEnv; policy: Policy; cwd: string }): AuditFiles | null {
  const file = input.auditLog ?? input.env.WARDEN_AUDIT_LOG ?? input.policy.audit.file;
  if (!file) return null;
  const log = canonicalFile(resolve(input.cwd, file));
  const keyFile = input.env.WARDEN_AUDIT_KEY ?? input.policy.audit.key_file;
  const headFile = input.env.WARDEN_AUDIT_HEAD ?? input.policy.audit.head_file;
  const companions = auditCompanions(log, {
    ...(keyFile ? { keyFile: canonicalFile(resolve(input.cwd, keyFile)) } : {}),
    ...(headFile ? { headFile: canonicalFile(resolve(input.cwd, headFile)) } : {}),
  });
  return { log, key: companions.key, head: companions.head };
}

/** Directories every native command sees read-only (src/exec/native/host-layout.ts binds them). */
export const SANDBOX_SYSTEM_DIRS = ["/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc", "/opt"];

/**
 * The first audit file that a command or a file tool could reach: one inside a root (read-write or
 * read-only), or inside a system directory the sandbox shows commands. Null when none is. Pure:
 * `files` and `roots` must already be canonical.
 */
export function exposedAuditFile(files: AuditFiles | null, roots: EffectiveRoot[]): string | null {
  if (!files) return null;
  for (const [label, path] of [["audit log", files.log], ["audit key", files.key], ["audit head", files.head]] as const) {
    const why = exposure(`the ${label}`, path, roots, "Keep the audit log, its key and its head outside every root", "keep the audit log, its key and its head elsewhere (e.g. /var/log/warden)");
    if (why) return why;
  }
  return null;
}

/**
 * Why a workspace state dir (every workspace's layers: what each session wrote) would be reachable
 * by commands or file tools, or null. Inside a root, a session would read or change the layers of
 * its own and of every other workspace; inside a system directory every command sees it read-only.
 * Pure: `stateDir` and `roots` canonical.
 */
export function exposedStateDir(stateDir: string, roots: EffectiveRoot[]): string | null {
  return exposure(`the state dir`, stateDir, roots, "Give --state-dir a directory outside every root", "give --state-dir a directory elsewhere (the default is ~/.local/state/mcp-warden, or e.g. /var/lib/mcp-warden)");
}

function exposure(what: string, path: string, roots: EffectiveRoot[], outsideRoots: string, elsewhere: string): string | null {
  for (const root of roots) {
    if (isWithin(root.path, path)) {
      return `${what} ${path} lies inside the ${root.writable ? "read-write" : "read-only"} root ${root.path}: commands and file tools could read or change it. ${outsideRoots}`;
    }
  }
  const system = SANDBOX_SYSTEM_DIRS.find((dir) => isWithin(dir, path));
  if (system) return `${what} ${path} lies inside ${system}, which every command sees read-only; ${elsewhere}`;
  return null;
}

/** realpath of the nearest existing ancestor, joined with the components below it. */
function canonicalFile(abs: string): string {
  const rest: string[] = [];
  let dir = abs;
  for (;;) {
    try {
      return join(realpathSync(dirname(dir)), basename(dir), ...rest);
    } catch {
      if (dirname(dir) === dir) return abs;
      rest.unshift(basename(dir));
      dir = dirname(dir);
    }
  }
}
