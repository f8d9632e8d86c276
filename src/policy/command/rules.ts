import { allow, deny, type Decision } from "../decision.js";
import type { CommandRule, Policy } from "../schema/index.js";

/** Arguments as the rules see them: the literal string, or null when the shell expands it at run time. */
export type Args = (string | null)[];

function ruleName(rule: CommandRule, list: "allow" | "deny" | "ask", i: number): string {
  return rule.name ?? `commands.${list}[${i}]`;
}

function applies(rule: CommandRule, program: string): boolean {
  return rule.program === "*" || rule.program === program;
}

/** What an args_deny pattern matched (`argument "/" matches`, `the arguments "a b" match`). */
interface ArgMatch {
  pattern: string;
  matched: string;
}

function firstMatch(patterns: string[], args: string[]): ArgMatch | null {
  const joined = args.join(" ");
  for (const pattern of patterns) {
    const re = new RegExp(pattern);
    const arg = args.find((a) => re.test(a));
    if (arg !== undefined) return { pattern, matched: `argument ${JSON.stringify(arg)} matches` };
    if (re.test(joined)) return { pattern, matched: `the arguments ${JSON.stringify(joined)} match` };
  }
  return null;
}

/** `rm: argument "/" matches /^\/+\*?$/ of no-rm-root`: says which word to change. */
function matchReason(program: string, m: ArgMatch, field: string, rule: string): string {
  return `${program}: ${m.matched} ${field} pattern /${m.pattern}/ of ${rule}`;
}

/** Whether any rule about `program` looks at its arguments (then the arguments must be literal). */
export function rulesReadArguments(policy: Policy, program: string): boolean {
  const c = policy.commands;
  return [...c.deny, ...c.ask, ...c.allow].some((r) => applies(r, program) && (r.args_deny.length > 0 || r.args_allow.length > 0));
}

/** Deny rules first: a deny rule with no args_deny denies the program outright (args_allow is for allow rules). */
export function denyRules(policy: Policy, program: string, args: Args): Decision | null {
  const rules = policy.commands.deny;
  for (let i = 0; i < rules.length; i++) {
    const r = rules[i]!;
    if (!applies(r, program)) continue;
    const name = ruleName(r, "deny", i);
    if (r.args_deny.length === 0) return deny(name, `${program} is denied`);
    if (args.some((a) => a === null)) return deny("dynamic_argument", `${program}: ${name} inspects arguments, which must then be literal`);
    const lit = args as string[];
    const m = firstMatch(r.args_deny, lit);
    if (m) return deny(name, matchReason(program, m, "denied", name));
  }
  return null;
}

/**
 * Ask rules, after deny rules and before allow rules: the first that applies returns an allowing
 * decision naming it, which the caller must hold until a human approves. A rule with no args_deny
 * asks for every use of the program; one whose arguments cannot be read (they expand at run time)
 * asks too, so a dynamic argument never skips the question.
 */
export function askRules(policy: Policy, program: string, args: Args): Decision | null {
  const rules = policy.commands.ask;
  for (let i = 0; i < rules.length; i++) {
    const r = rules[i]!;
    if (!applies(r, program)) continue;
    const name = ruleName(r, "ask", i);
    if (r.args_deny.length === 0) return allow(name, `${program} needs approval (${name})`);
    if (args.some((a) => a === null)) return allow(name, `${program}: ${name} inspects arguments that expand at run time, so it asks`);
    const m = firstMatch(r.args_deny, args as string[]);
    if (m) return allow(name, `${program}: ${m.matched} pattern /${m.pattern}/ of ${name}, which needs approval`);
  }
  return null;
}

/**
 * Allow rules (or the --allow list, which replaces them): the first rule that accepts decides; a
 * rule that names the program but rejects its arguments denies when no later rule accepts.
 */
export function allowRules(policy: Policy, extraAllowed: string[], program: string, args: Args): Decision {
  if (extraAllowed.length > 0) {
    return extraAllowed.includes(program)
      ? allow(`--allow ${program}`, `${program} is allowed with --allow`)
      : deny("commands.default_deny", `${program} is not among the --allow programs`);
  }
  const rules = policy.commands.allow;
  let rejected: Decision | null = null;
  for (let i = 0; i < rules.length; i++) {
    const r = rules[i]!;
    if (!applies(r, program)) continue;
    const name = ruleName(r, "allow", i);
    if (r.args_deny.length > 0 || r.args_allow.length > 0) {
      if (args.some((a) => a === null)) {
        rejected ??= deny("dynamic_argument", `${program}: ${name} inspects arguments, which must then be literal`);
        continue;
      }
      const lit = args as string[];
      const m = firstMatch(r.args_deny, lit);
      if (m) {
        rejected ??= deny(name, matchReason(program, m, "args_deny", name));
        continue;
      }
      if (r.args_allow.length > 0 && !r.args_allow.some((p) => new RegExp(p).test(lit.join(" ")))) {
        rejected ??= deny(name, `${program}: the arguments match no args_allow of ${name}`);
        continue;
      }
    }
    return allow(name, `${program} is allowed by ${name}`);
  }
  return rejected ?? deny("commands.default_deny", `no allow rule names ${program}`);
}
