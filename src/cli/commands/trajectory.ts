import type { Command } from "commander";
import { defaultPolicyPath, loadPolicyFile } from "../../config/load-policy.js";
import { packageVersion } from "../../config/package-root.js";
import { withCheckpoints } from "../../trajectory/checkpoints.js";
import { toAtif } from "../../trajectory/export-atif.js";
import { toJsonl } from "../../trajectory/export-jsonl.js";
import { listSessions, readSession } from "../../trajectory/read-session.js";
import { defaultStateDir } from "../../workspace/index.js";
import { UsageError } from "../options.js";
import { locateLog, logOptions, runReporting, type LogFlags } from "./trajectory-log.js";

interface ExportFlags extends LogFlags {
  format: string;
  policy?: string;
  workspace?: string;
  stateDir?: string;
}

/**
 * `warden trajectory list|export|replay`: a session's tool calls, read from the audit log (the one
 * source of truth), verified through the session's last record before anything is printed.
 * Exit 0 success, 1 a log that does not verify there, 2 usage (unknown session, no log, bad flag).
 */
export function registerTrajectoryCommand(program: Command): void {
  const traj = program
    .command("trajectory")
    .description("a session's recorded tool calls: list sessions, export (jsonl | ATIF), replay")
    .exitOverride((err) => process.exit(err.exitCode === 0 ? 0 : 2));

  logOptions(traj.command("list").description("the sessions in the audit log, with their number of calls"))
    .option("--policy <file>", "policy whose audit.file names the log (default: policies/default.json, or WARDEN_POLICY)")
    .option("--json", "print JSON")
    .action((flags: LogFlags & { policy?: string; json?: boolean }) =>
      runReporting(async () => {
        const sessions = await listSessions(locateLog(flags, policyOf(flags.policy)));
        if (flags.json) process.stdout.write(`${JSON.stringify(sessions, null, 2)}\n`);
        else for (const s of sessions) process.stdout.write(`${s.session}\t${s.calls} calls\t${s.first_time} .. ${s.last_time}\t${[s.transport, s.client].filter(Boolean).join(" ")}\n`);
        return 0;
      }),
    );

  logOptions(traj.command("export").description("one session's calls as JSON Lines or Harbor's ATIF (v1.6), after verifying its part of the chain"))
    .argument("<session>", "the session id (`warden trajectory list` shows them)")
    .option("--format <format>", "jsonl | atif", "jsonl")
    .option("--policy <file>", "policy whose audit.file names the log (default: policies/default.json, or WARDEN_POLICY)")
    .option("--workspace <name>", "the session's workspace: its checkpoints join the trajectory")
    .option("--state-dir <dir>", `with --workspace: where workspaces live (default ${defaultStateDir()})`)
    .action((session: string, flags: ExportFlags) =>
      runReporting(async () => {
        if (flags.format !== "jsonl" && flags.format !== "atif") throw new UsageError(`unknown --format ${JSON.stringify(flags.format)}: give jsonl or atif`);
        let t = await readSession(locateLog(flags, policyOf(flags.policy)), session);
        if (flags.workspace) t = withCheckpoints(t, flags.stateDir ?? defaultStateDir(), flags.workspace);
        process.stdout.write(flags.format === "atif" ? `${JSON.stringify(toAtif(t, { name: "mcp-warden", version: packageVersion() }), null, 2)}\n` : toJsonl(t));
        return 0;
      }),
    );
}

function policyOf(file: string | undefined) {
  return loadPolicyFile(file ?? process.env.WARDEN_POLICY ?? defaultPolicyPath());
}
