import { askWithBackend } from "../../exec/command-policy.js";
import { readHostLayout } from "../../exec/native/host-layout.js";
import { createNativeBackend } from "../../exec/native/index.js";
import { sandboxPathViewer } from "../../exec/native/sandbox-view.js";
import { decideCommand, formatCheck, loadParser, namedWords, type CommandDecision } from "../../policy/command/index.js";
import type { EffectiveRoot } from "../../policy/roots.js";
import type { Policy } from "../../policy/schema/index.js";

/**
 * `warden check -- CMD`: the same policy question the bridge asks before running, with programs
 * resolved on this host's trusted PATH, printed with the deciding rule. For an allowed command it
 * also says which of the paths it names the sandbox will hide, leave out or make read-only, since
 * "allow" alone reads as "may read /etc/shadow". Nothing is executed.
 */
export async function checkCommand(source: string, policy: Policy, roots: EffectiveRoot[], extraAllowed: string[]): Promise<number> {
  const backend = createNativeBackend({ confinement: "none", cgroups: false });
  const cwd = roots[0]?.path ?? process.cwd();
  try {
    const decision = (await askWithBackend({ backend, policy, roots, cwd, extraAllowed }, (env) => decideCommand(source, policy, env))) as CommandDecision;
    process.stdout.write(formatCheck(decision));
    if (decision.allow) process.stdout.write(await sandboxLines(source, policy, roots, cwd));
    return decision.allow ? 0 : 1;
  } finally {
    await backend.close();
  }
}

/** What the run-time confinement does to the paths the command names. */
async function sandboxLines(source: string, policy: Policy, roots: EffectiveRoot[], cwd: string): Promise<string> {
  const { backend, confinement } = policy.execution;
  if (backend !== "native") return `  sandbox: the ${backend} backend confines the command by its own means (docs/HOST_COMMAND_EXECUTION_GUIDE.md); paths are not judged here\n`;
  if (confinement === "none") return "  sandbox: none (execution.confinement: none): the command sees the host's files with the server's permissions\n";
  const view = sandboxPathViewer({ roots, denyGlobs: policy.filesystem.deny, cwd, layout: readHostLayout() });
  const lines: string[] = [];
  const seen = new Set<string>();
  for (const word of namedWords(await loadParser(), source)) {
    const path = word.tilde ? word.text : word.value;
    if (path === null || path === "" || seen.has(path)) continue;
    seen.add(path);
    const seenAs = view(path);
    const named = word.tilde || seenAs?.path === path ? word.text : `${word.text} (${seenAs?.path})`;
    if (seenAs) lines.push(`    ${named}: ${seenAs.effect}: ${seenAs.why}`);
  }
  if (lines.length === 0) return "";
  return `  sandbox (native, bubblewrap; relative paths from ${cwd}): the policy allows the command, but at run time:\n${lines.join("\n")}\n`;
}
