import { deny, type Decision } from "../decision.js";
import { compileDenyRules, type DenyRules } from "../path-rules.js";
import type { Policy } from "../schema/index.js";
import type { CommandEnvironment, CommandVerdict } from "./types.js";

/** Everything one decision needs, passed explicitly (no module state). */
export interface DecideContext {
  policy: Policy;
  env: CommandEnvironment;
  /** policy.filesystem.deny compiled once per walk, not once per file a command names. */
  denyRules: DenyRules;
  /** The script changes directory (cd, pushd, popd): relative targets cannot be judged. */
  changesDir: boolean;
  /** Set when a cd, pushd or popd was decided (the walk is then redone with changesDir). */
  sawCd: boolean;
  /** Wrapper nesting depth of the invocation being decided. */
  depth: number;
  /** The command text as given. */
  source: string;
  verdicts: CommandVerdict[];
  /** Commands an ask rule matched: the whole command then waits for a human. */
  asks: CommandVerdict[];
  /** Spans of the simple commands the walk decided, to prove none was skipped. */
  decided: Set<string>;
}

/** A fresh context for one walk over `source`; `denyRules`: policy.filesystem.deny already compiled. */
export function newContext(policy: Policy, env: CommandEnvironment, source: string, changesDir: boolean, denyRules = compileDenyRules(policy.filesystem.deny)): DecideContext {
  return { policy, env, denyRules, source, changesDir, sawCd: false, depth: 0, verdicts: [], asks: [], decided: new Set() };
}

/** Records a verdict for `program` and returns the decision, so callers can `return note(...)`. */
export function note(ctx: DecideContext, program: string, decision: Decision): Decision {
  ctx.verdicts.push({ program, decision });
  return decision;
}

export function refuse(ctx: DecideContext, program: string, rule: string, reason: string): Decision {
  return note(ctx, program, deny(rule, reason));
}
