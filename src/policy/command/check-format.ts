import type { CommandDecision } from "./types.js";

/**
 * The text `warden check -- <cmd>` prints: the verdict and deciding rule first (what scripts grep
 * for), then each command found with its own verdict, then how it would run.
 */
export function formatCheck(decision: CommandDecision): string {
  const lines = [`${decision.allow ? "allow" : "deny"}: ${decision.rule}: ${decision.reason}`];
  if (decision.allow && decision.ask) lines.push(`  ask: ${decision.ask.rule}: runs only once a human approves (${decision.ask.reason})`);
  for (const c of decision.commands ?? []) {
    lines.push(`  ${c.decision.allow ? "allow" : "deny "} ${c.program}  [${c.decision.rule}] ${c.decision.reason}`);
  }
  const plan = decision.plan;
  if (plan?.kind === "argv") lines.push(`  run: ${plan.argv.map(quote).join(" ")}`);
  if (plan?.kind === "script") lines.push(`  run: ${plan.shell} -c <the checked script>`);
  return lines.join("\n") + "\n";
}

function quote(word: string): string {
  return /^[A-Za-z0-9_./:=@%+,-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}
