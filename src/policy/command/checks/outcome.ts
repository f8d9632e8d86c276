import { deny, type Decision } from "../../decision.js";

/** A command another program will run on our behalf (find -exec, xargs, a wrapper's operand). */
export interface InnerCommand {
  argv: string[];
  /** Arguments will be appended or substituted at run time (xargs input, find's `{}`). */
  appended: boolean;
  /** How it is reached, for messages: `find -exec`, `xargs`, `timeout`. */
  via: string;
}

/** What a program-specific check concluded about one invocation; empty means nothing to add. */
export interface CheckOutcome {
  deny?: Decision;
  inner?: InnerCommand[];
  /** Files the program will write, judged like redirection targets. */
  writes?: { path: string; what: string }[];
  /** Environment names the invocation sets (env NAME=value). */
  assigns?: string[];
}

export type Checker = (args: string[], program: string) => CheckOutcome;

export const refuse = (rule: string, reason: string): CheckOutcome => ({ deny: deny(rule, reason) });

/**
 * A GNU-style long option (`--key` or `--key=value`), which getopt and git's parse-options accept
 * abbreviated: the first of `names` that `--key` can stand for, or null. `exact` lists harmless options
 * that are themselves prefixes of a name (tar's --checkpoint of --checkpoint-action).
 */
export function longOption(arg: string, names: string[], exact: string[] = []): string | null {
  if (!arg.startsWith("--") || arg === "--") return null;
  const key = arg.slice(2).split("=")[0]!;
  // An option spelled out in full is that option, even when it is also a prefix of another.
  if (key.length === 0 || exact.includes(key)) return null;
  return names.find((n) => n.startsWith(key)) ?? null;
}

/** The value of a long option: after `=`, or the next argument. */
export function longValue(args: string[], i: number): string | undefined {
  const a = args[i]!;
  const eq = a.indexOf("=");
  return eq >= 0 ? a.slice(eq + 1) : args[i + 1];
}

/** A bundle of short options (`-xzf`), not a long option, not a lone dash. */
export function isShortBundle(arg: string): boolean {
  return /^-[^-]/.test(arg);
}
