import type { Command } from "commander";
import { defaultPolicyPath, loadPolicyFile } from "../../config/load-policy.js";
import { canonicalRoot, configuredRoots } from "../../config/resolve-roots.js";
import { intersectRoots, type EffectiveRoot } from "../../policy/roots.js";
import type { Policy } from "../../policy/schema/index.js";
import { createSandbox } from "../../sandbox/index.js";
import { decidePath } from "../../tools/fs/path-decision.js";
import type { ToolContext } from "../../tools/tool.js";
import { collect, UsageError } from "../options.js";

interface CheckFlags {
  policy?: string;
  root: string[];
  readOnly: string[];
  allow: string[];
  path?: string;
  write?: boolean;
}

/**
 * `warden check`: the decision the server would make, with the rule, without running anything.
 * Exit 0 allow, 1 deny, 2 usage error (SPEC).
 */
export function registerCheckCommand(program: Command): void {
  program
    .command("check")
    .description(
      "print allow/deny and the deciding rule for a command (-- CMD) or a path (--path P [--write]), and what the sandbox will hide or make read-only; exit 0 allow, 1 deny, 2 usage error",
    )
    .option("--policy <file>", "JSON policy (default: policies/default.json, or WARDEN_POLICY)")
    .option("--root <dir>", "read-write root (repeatable)", collect, [])
    .option("--read-only <dir>", "read-only root (repeatable)", collect, [])
    .option("--allow <program>", "as for serve (repeatable)", collect, [])
    .option("--path <path>", "check a path instead of a command")
    .option("--write", "with --path: check write access")
    .argument("[command...]", "the command, after --")
    .action(async (words: string[], flags: CheckFlags) => {
      if (flags.path === undefined && words.length === 0) throw new UsageError("nothing to check: give --path P, or -- COMMAND (e.g. warden check -- git status)");
      if (flags.path !== undefined && words.length > 0) throw new UsageError("give either --path P or -- COMMAND, not both");
      if (flags.write && flags.path === undefined) throw new UsageError("--write goes with --path P (it checks write access to P)");
      const policy = loadPolicyFile(flags.policy ?? process.env.WARDEN_POLICY ?? defaultPolicyPath());
      const cwd = process.cwd();
      const roots = intersectRoots(configuredRoots(policy, { roots: flags.root, readOnly: flags.readOnly }, cwd), null, canonicalRoot(cwd, !policy.filesystem.read_only, cwd, "cwd"));
      if (flags.path !== undefined) {
        // On the command line a relative path means the working directory, as in a shell (joined, not normalised).
        const path = flags.path.startsWith("/") || /^file:/i.test(flags.path) ? flags.path : `${process.cwd()}/${flags.path}`;
        process.exitCode = await checkPath(path, flags.write === true, roots, policy);
        return;
      }
      const { checkCommand } = await import("./check-command.js");
      process.exitCode = await checkCommand(words.join(" "), policy, roots, flags.allow);
    });
}

/** Resolves the path through the same sandbox resolver the tools use, then applies write access. */
async function checkPath(path: string, write: boolean, roots: EffectiveRoot[], policy: Policy): Promise<number> {
  const sandbox = createSandbox({ workers: 1 });
  try {
    const ctx: ToolContext = {
      roots: async () => roots,
      sandbox,
      policy,
      services: {},
      progress: async () => {},
      signal: new AbortController().signal,
      session: "check",
    };
    const decision = await decidePath(ctx, path, write);
    process.stdout.write(decision.allow ? `allow: ${decision.reason}\n` : `deny: ${decision.rule}: ${decision.reason}\n`);
    return decision.allow ? 0 : 1;
  } finally {
    await sandbox.close();
  }
}
