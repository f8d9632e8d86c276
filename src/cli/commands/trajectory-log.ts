import { existsSync } from "node:fs";
import type { Command } from "commander";
import { resolveAuditFiles } from "../../config/audit-files.js";
import type { Policy } from "../../policy/schema/index.js";
import { TrajectoryError } from "../../trajectory/errors.js";
import { WorkspaceError } from "../../workspace/errors.js";
import type { LogLocation } from "../../trajectory/read-session.js";
import { UsageError } from "../options.js";

export interface LogFlags {
  auditLog?: string;
  key?: string;
  head?: string;
}

/** The options that say which audit log holds the session (shared by trajectory and audit replay). */
export function logOptions(c: Command): Command {
  return c
    .option("--audit-log <file>", "the audit log the server wrote (default: WARDEN_AUDIT_LOG, else the policy's audit.file)")
    .option("--key <file>", "the log's key (default: WARDEN_AUDIT_KEY, the policy's audit.key_file, else FILE.key)")
    .option("--head <file>", "the log's head (default: WARDEN_AUDIT_HEAD, the policy's audit.head_file, else FILE.head)");
}

/** Where the log, its key and its head are, found the way the server finds them. */
export function locateLog(flags: LogFlags, policy: Policy): LogLocation {
  const files = resolveAuditFiles({ ...(flags.auditLog ? { auditLog: flags.auditLog } : {}), env: process.env, policy, cwd: process.cwd() });
  if (!files) throw new UsageError("no audit log: give --audit-log FILE (the log `warden serve --audit-log FILE` wrote), or set WARDEN_AUDIT_LOG");
  const key = flags.key ?? (existsSync(files.key) ? files.key : undefined);
  const head = flags.head ?? (existsSync(files.head) ? files.head : undefined);
  return { log: files.log, ...(key ? { key } : {}), ...(head ? { head } : {}) };
}

/** Runs a command body: a usage mistake exits 2, a failure (a tampered log) 1, with the message on stderr. */
export async function runReporting(body: () => Promise<number>): Promise<void> {
  try {
    process.exitCode = await body();
  } catch (err) {
    if (err instanceof TrajectoryError || err instanceof UsageError || err instanceof WorkspaceError) {
      process.stderr.write(`warden: ${err.message}\n`);
      const usage = err instanceof UsageError || (err instanceof TrajectoryError && err.usage) || (err instanceof WorkspaceError && err.kind === "usage");
      process.exitCode = usage ? 2 : 1;
      return;
    }
    throw err;
  }
}
