import { askWithBackend } from "../../exec/command-policy.js";
import { createNativeBackend } from "../../exec/native/index.js";
import { decideCommand, formatCheck, type CommandDecision } from "../../policy/command/index.js";
import type { EffectiveRoot } from "../../policy/roots.js";
import type { Policy } from "../../policy/schema/index.js";

/**
 * `warden check -- CMD`: the same policy question the bridge asks before running, with programs
 * resolved on this host's trusted PATH, printed with the deciding rule. Nothing is executed.
 */
export async function checkCommand(source: string, policy: Policy, roots: EffectiveRoot[], extraAllowed: string[]): Promise<number> {
  const backend = createNativeBackend({ confinement: "none", cgroups: false });
  try {
    const decision = (await askWithBackend(
      { backend, policy, roots, cwd: roots[0]?.path ?? process.cwd(), extraAllowed },
      (env) => decideCommand(source, policy, env),
    )) as CommandDecision;
    process.stdout.write(formatCheck(decision));
    return decision.allow ? 0 : 1;
  } finally {
    await backend.close();
  }
}
