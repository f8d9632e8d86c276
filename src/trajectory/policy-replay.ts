import type { CommandBridge, ExecuteArgs } from "../exec/types.js";
import type { Decision } from "../policy/decision.js";
import type { EffectiveRoot } from "../policy/roots.js";
import type { Policy } from "../policy/schema/index.js";
import type { Sandbox } from "../sandbox/types.js";
import { decidePath } from "../tools/fs/path-decision.js";
import type { ToolContext } from "../tools/tool.js";
import type { Trajectory, TrajectoryStep } from "./types.js";

/** What replay needs: the candidate policy and the deciders built from it (the bridge's, the file tools' resolver). */
export interface ReplayDeciders {
  policy: Policy;
  roots: EffectiveRoot[];
  sandbox: Sandbox;
  /** A bridge built with the candidate policy and no audit sink: only its `decide` is used. */
  bridge: Pick<CommandBridge, "decide">;
}

export interface DecisionChange {
  index: number;
  tool: string;
  old: { decision: string; rule: string };
  new: { decision: "allow" | "deny"; rule: string; reason: string };
}

export interface PolicyReplay {
  session: string;
  calls: number;
  /** Calls asked again under the candidate policy. */
  decided: number;
  /** Calls that carry no policy decision (get_system_info, process handles): kept as they were. */
  not_decided: { index: number; tool: string; why: string }[];
  changes: DecisionChange[];
}

/** Tools whose calls go to the file tools' resolver, and whether they write. */
const PATH_TOOLS: Record<string, (args: Record<string, unknown>) => boolean> = {
  read_file: () => false,
  list_directory: () => false,
  search_files: () => false,
  write_file: () => true,
  edit_file: (args) => args.dry_run !== true,
};

/** Rules of failures that are not the policy's answer (bad input, a missing file): the policy let the call through. */
const NOT_POLICY = /^(fs|input|edit|tool|internal)[._]/;

/**
 * Re-decides every recorded call of a session under a candidate policy, with the deciders the
 * server itself uses: a command goes through the bridge's normalize-and-decide (the same parser,
 * program resolution on the trusted PATH, working-directory and environment checks); a path goes
 * through the file tools' resolver in the sandbox (deny globs on every component, symlinks, roots,
 * read-only roots). Nothing runs. A call changes when allow becomes deny or the reverse, or when
 * another rule denies it. Paths and working directories are judged on the tree as it is now.
 */
export async function replayPolicy(t: Trajectory, d: ReplayDeciders): Promise<PolicyReplay> {
  const ctx: ToolContext = {
    roots: async () => d.roots,
    sandbox: d.sandbox,
    policy: d.policy,
    services: {},
    progress: async () => {},
    signal: new AbortController().signal,
    session: `replay-${t.session}`,
  };
  const out: PolicyReplay = { session: t.session, calls: t.steps.length, decided: 0, not_decided: [], changes: [] };
  for (const step of t.steps) {
    const decision = await decide(step, d, ctx);
    if ("why" in decision) {
      out.not_decided.push({ index: step.index, tool: step.tool, why: decision.why });
      continue;
    }
    out.decided++;
    const before = policyAnswer(step.decision, step.rule);
    const after = policyAnswer(decision.allow ? "allow" : "deny", decision.rule);
    if (before.allow !== after.allow || (!before.allow && before.rule !== after.rule)) {
      out.changes.push({ index: step.index, tool: step.tool, old: { decision: step.decision, rule: step.rule }, new: { decision: decision.allow ? "allow" : "deny", rule: decision.rule, reason: decision.reason } });
    }
  }
  return out;
}

async function decide(step: TrajectoryStep, d: ReplayDeciders, ctx: ToolContext): Promise<Decision | { why: string }> {
  const args = step.args;
  if (step.tool === "execute_command") return d.bridge.decide(args as unknown as ExecuteArgs, { roots: d.roots });
  const writes = PATH_TOOLS[step.tool];
  if (writes) {
    if (typeof args.path !== "string") return { why: "no path recorded" };
    return decidePath(ctx, args.path, writes(args));
  }
  return { why: "no policy decision to replay (it reads server state or a process handle)" };
}

/** allow/deny as the policy meant it: a failure that is not a policy rule (a missing file, bad input) was let through. */
function policyAnswer(decision: string, rule: string): { allow: boolean; rule: string } {
  if (decision === "allow" || decision === "unfinished" || decision === "error" || NOT_POLICY.test(rule)) return { allow: true, rule: "allow" };
  return { allow: false, rule };
}
