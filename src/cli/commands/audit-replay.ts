import type { Command } from "commander";
import { NULL_AUDIT_SINK } from "../../audit/memory-sink.js";
import { loadPolicyFile } from "../../config/load-policy.js";
import { canonicalRoot, configuredRoots } from "../../config/resolve-roots.js";
import { createCommandBridge } from "../../exec/bridge.js";
import { createNativeBackend } from "../../exec/native/index.js";
import { intersectRoots } from "../../policy/roots.js";
import { createSandbox } from "../../sandbox/index.js";
import { replayPolicy, type PolicyReplay } from "../../trajectory/policy-replay.js";
import { readSession } from "../../trajectory/read-session.js";
import { collect } from "../options.js";
import { locateLog, logOptions, runReporting, type LogFlags } from "./trajectory-log.js";

interface ReplayFlags extends LogFlags {
  policy: string;
  root: string[];
  readOnly: string[];
  allow: string[];
  json?: boolean;
}

/**
 * `warden audit replay SESSION --policy NEW.json`: every recorded call of a session decided again
 * under a candidate policy, by the server's own deciders (trajectory/policy-replay.ts); prints the
 * calls whose decision would change. Exit 0 none would, 1 some would, 2 usage (unknown session,
 * bad policy), 1 also for a log that does not verify where the session lies.
 */
export function registerAuditReplayCommand(audit: Command): void {
  logOptions(audit.command("replay").description("re-decide a recorded session's calls under another policy; print what would change (exit 1 when anything would)"))
    .argument("<session>", "the session id (`warden trajectory list` shows them)")
    .requiredOption("--policy <file>", "the candidate policy")
    .option("--root <dir>", "read-write root, as for serve (repeatable; default: the policy's roots, else the working directory)", collect, [])
    .option("--read-only <dir>", "read-only root, as for serve (repeatable)", collect, [])
    .option("--allow <program>", "as for serve (repeatable)", collect, [])
    .option("--json", "print the result as JSON")
    .action((session: string, flags: ReplayFlags) =>
      runReporting(async () => {
        const policy = loadPolicyFile(flags.policy);
        const trajectory = await readSession(locateLog(flags, policy), session);
        const cwd = process.cwd();
        const roots = intersectRoots(configuredRoots(policy, { roots: flags.root, readOnly: flags.readOnly }, cwd), null, canonicalRoot(cwd, !policy.filesystem.read_only, cwd, "cwd"));
        const sandbox = createSandbox({ workers: 1 });
        const backend = createNativeBackend({ confinement: "none", cgroups: false });
        const bridge = createCommandBridge({ policy, backend, audit: NULL_AUDIT_SINK, roots: async () => roots, extraAllowed: flags.allow });
        try {
          const result = await replayPolicy(trajectory, { policy, roots, sandbox, bridge });
          const rootsUsed = roots.map((r) => ({ path: r.path, writable: r.writable }));
          process.stdout.write(flags.json ? `${JSON.stringify({ ...result, roots: rootsUsed }, null, 2)}\n` : report(result, flags.policy, rootsUsed));
          return result.changes.length > 0 ? 1 : 0;
        } finally {
          await bridge.close();
          await sandbox.close();
        }
      }),
    );
}

function report(r: PolicyReplay, policyFile: string, roots: { path: string; writable: boolean }[]): string {
  const lines = [
    `session ${r.session}: ${r.calls} calls, ${r.decided} decided again under ${policyFile}, ${r.changes.length} would change`,
    `  roots: ${roots.map((x) => `${x.path} (${x.writable ? "read-write" : "read-only"})`).join(", ") || "none"}`,
  ];
  for (const c of r.changes) lines.push(`  #${c.index} ${c.tool}: ${c.old.decision} (${c.old.rule || "-"}) -> ${c.new.decision} (${c.new.rule}): ${c.new.reason}`);
  if (r.not_decided.length) lines.push(`  not decided again (no policy decision): ${r.not_decided.map((n) => `#${n.index} ${n.tool}`).join(", ")}`);
  return `${lines.join("\n")}\n`;
}
