import { posix } from "node:path";
import { askGlobFor, askRuleName, denyRuleName, relativeUnder } from "../../policy/path-rules.js";
import { fail, type ToolContext, type ToolOutcome } from "../tool.js";
import { toGuestPath } from "./guest-path.js";

/** The deny globs one write runs under, or the denial that stops it before it runs. */
export type WriteGate = { ok: true; denyGlobs: string[] } | { ok: false; outcome: ToolOutcome };

/**
 * filesystem.ask for write_file and edit_file. A write whose path, as written, matches an ask glob
 * waits for a human; only an approved write runs without the ask globs. Every other write runs
 * with the ask globs added to the deny globs, so the resolver (which checks the components it
 * really walks) refuses one that would reach such a file under another name, a symlink included.
 */
export async function gateWrite(ctx: ToolContext, tool: string, args: Record<string, unknown>, path: string): Promise<WriteGate> {
  const { deny, ask } = ctx.policy.filesystem;
  if (ask.length === 0) return { ok: true, denyGlobs: deny };
  const guarded = { ok: true as const, denyGlobs: [...deny, ...ask] };
  const roots = await ctx.roots();
  const guest = toGuestPath(path, roots);
  if (!guest.ok) return guarded; // the module reports the bad path itself
  const spelled = posix.normalize(guest.path);
  const root = roots
    .filter((r) => relativeUnder(r.path, spelled) !== null)
    .sort((a, b) => b.path.length - a.path.length)[0];
  const glob = root ? askGlobFor(ask, relativeUnder(root.path, spelled)!) : null;
  if (glob === null) return guarded;
  const rule = askRuleName(glob);
  if (!ctx.approve) return { ok: false, outcome: fail(rule, `not approved (unavailable): writing ${spelled} needs a human's approval (${rule}) and this caller cannot be asked`) };
  const verdict = await ctx.approve({ tool, args, rule, reason: `${spelled} matches ${glob}` });
  return verdict.allow ? { ok: true, denyGlobs: deny } : { ok: false, outcome: fail(verdict.rule, verdict.reason) };
}

/** A write refused by an ask glob it reached under another name: say which rule and how to ask. */
export function explainAskRefusal(outcome: ToolOutcome, ctx: ToolContext): ToolOutcome {
  if (outcome.ok) return outcome;
  const glob = ctx.policy.filesystem.ask.find((g) => outcome.rule === denyRuleName(g) && !ctx.policy.filesystem.deny.includes(g));
  if (glob === undefined) return outcome;
  return fail(askRuleName(glob), `${outcome.message}: the write reaches a path matching ${askRuleName(glob)} that its name does not show (a symlink?); write it by a path that names it, so it can be approved`);
}
