import type { Command } from "commander";
import { defaultPolicyPath, loadPolicyFile } from "../../config/load-policy.js";
import { packageVersion } from "../../config/package-root.js";
import { withCheckpoints } from "../../trajectory/checkpoints.js";
import { toAtif } from "../../trajectory/export-atif.js";
import { toJsonl } from "../../trajectory/export-jsonl.js";
import { listSessions, readSession } from "../../trajectory/read-session.js";
import { defaultStateDir } from "../../workspace/index.js";
import { randomBytes } from "node:crypto";
import { mkdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { replayRun, type ReplayRunReport } from "../../trajectory/replay-run.js";
import { collect, UsageError } from "../options.js";
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
    .option("--workspace <name>", "the session's workspace, whose checkpoints join the trajectory (default: the one its records name, when it is in the state dir)")
    .option("--state-dir <dir>", `with --workspace: where workspaces live (default ${defaultStateDir()})`)
    .action((session: string, flags: ExportFlags) =>
      runReporting(async () => {
        if (flags.format !== "jsonl" && flags.format !== "atif") throw new UsageError(`unknown --format ${JSON.stringify(flags.format)}: give jsonl or atif`);
        let t = await readSession(locateLog(flags, policyOf(flags.policy)), session);
        const stateDir = flags.stateDir ?? defaultStateDir();
        if (flags.workspace) t = withCheckpoints(t, stateDir, flags.workspace);
        else if (t.workspace) {
          try {
            t = withCheckpoints(t, stateDir, t.workspace);
          } catch (err) {
            process.stderr.write(`warden: the session's workspace ${t.workspace} is not in ${stateDir} (${(err as Error).message}); exported without its checkpoints (give --state-dir)\n`);
          }
        }
        process.stdout.write(flags.format === "atif" ? `${JSON.stringify(toAtif(t, { name: "mcp-warden", version: packageVersion() }), null, 2)}\n` : toJsonl(t));
        return 0;
      }),
    );

  logOptions(traj.command("replay").description("run a recorded overlay session's calls again on a fresh workspace from the same start; report where results or the final tree differ (exit 1)"))
    .argument("<session>", "the session id (`warden trajectory list` shows them)")
    .option("--workspace <name>", "the workspace the session ran in (default: the one its records name)")
    .option("--state-dir <dir>", `where workspaces live (default ${defaultStateDir()})`)
    .option("--as <name>", "name of the fresh workspace (default: NAME-replay-<random>)")
    .option("--replay-log <file>", "the replay server's audit log (default: STATE_DIR/replays/<as>.jsonl)")
    .option("--policy <file>", "the policy to serve the replay under (default: policies/default.json, or WARDEN_POLICY)")
    .option("--allow <program>", "as for serve (repeatable)", collect, [])
    .option("--read-only <dir>", "as for serve (repeatable)", collect, [])
    .option("--json", "print the report as JSON")
    .action((session: string, flags: LogFlags & { workspace?: string; stateDir?: string; as?: string; replayLog?: string; policy?: string; allow: string[]; readOnly: string[]; json?: boolean }) =>
      runReporting(async () => {
        const policyFile = flags.policy ?? process.env.WARDEN_POLICY;
        const trajectory = await readSession(locateLog(flags, policyOf(policyFile)), session);
        const workspace = flags.workspace ?? trajectory.workspace;
        if (!workspace) throw new UsageError(`session ${session} names no workspace: replay needs a session recorded with \`warden serve --overlay\` (give --workspace NAME if its records predate the workspace field)`);
        const stateDir = resolve(flags.stateDir ?? defaultStateDir());
        const replayName = flags.as ?? `${workspace}-replay-${randomBytes(3).toString("hex")}`;
        const replayLog = resolve(flags.replayLog ?? join(stateDir, "replays", `${replayName}.jsonl`));
        if (!flags.replayLog) mkdirSync(join(stateDir, "replays"), { recursive: true, mode: 0o700 });
        const serveFlags = [...(policyFile ? ["--policy", resolve(policyFile)] : []), ...flags.allow.flatMap((a) => ["--allow", a]), ...flags.readOnly.flatMap((r) => ["--read-only", resolve(r)])];
        const report = await replayRun({ trajectory, stateDir, workspace, replayName, replayLog, cli: process.argv[1]!, serveFlags });
        process.stdout.write(flags.json ? `${JSON.stringify(report, null, 2)}\n` : replayReport(report));
        return report.same ? 0 : 1;
      }),
    );
}

function replayReport(r: ReplayRunReport): string {
  const counts = (s: string) => r.steps.filter((x) => x.status === s).length;
  const lines = [`session ${r.session} replayed as ${r.replay_session} in workspace ${r.replay_workspace}: ${counts("same")} same, ${counts("different")} different, ${counts("skipped")} skipped`];
  for (const s of r.steps.filter((x) => x.status !== "same")) {
    const detail = s.status === "skipped" ? s.why : `${s.recorded?.decision} sha256:${s.recorded?.result_sha256?.slice(0, 12) ?? "-"} -> ${s.replayed?.decision ?? "no call"} sha256:${s.replayed?.result_sha256?.slice(0, 12) ?? "-"}`;
    lines.push(`  #${s.index} ${s.tool}: ${s.status}: ${detail}`);
  }
  for (const t of r.tree) {
    lines.push(t.same ? `  tree: same (sha256:${t.recorded})` : `  tree: different (recorded sha256:${t.recorded}, replayed sha256:${t.replayed}); ${t.differences.length} paths differ:`);
    for (const p of t.differences.slice(0, 20)) lines.push(`    ${p}`);
  }
  for (const n of r.notes) lines.push(`  note: ${n}`);
  return `${lines.join("\n")}\n`;
}

function policyOf(file: string | undefined) {
  return loadPolicyFile(file ?? process.env.WARDEN_POLICY ?? defaultPolicyPath());
}
