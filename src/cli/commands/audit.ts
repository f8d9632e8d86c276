import type { Command } from "commander";
import { verifyAuditLog, type AuditVerifyResult, type VerifyOptions } from "../../audit/verify.js";
import { registerAuditReplayCommand } from "./audit-replay.js";

interface VerifyFlags {
  json?: boolean;
  key?: string | false;
  head?: string | false;
}

/**
 * `warden audit verify FILE`: exit 0 and `ok: N records` when the chain holds (and, with the key
 * and head found beside the log or given, its tail is where the head says), exit 1 and the first
 * bad record when it does not, exit 2 when it cannot be verified (file, key or head unreadable,
 * or a keyed log and no key).
 */
export function registerAuditCommand(program: Command): void {
  const audit = program.command("audit").description("audit log tools");
  audit
    .command("verify")
    .description("verify an audit log's keyed chain and its head; exit 1 and the first bad, missing or torn record (a cut tail too)")
    .argument("<file>", "JSONL audit log")
    .option("--key <file>", "the log's key (default: FILE.key when it exists)")
    .option("--no-key", "verify without a key (legacy unkeyed logs only)")
    .option("--head <file>", "the log's head (default: FILE.head)")
    .option("--no-head", "do not check the tail against a head")
    .option("--json", "print the result as JSON")
    .action(async (file: string, flags: VerifyFlags) => {
      const options: VerifyOptions = {
        ...(flags.key === false ? { key: null } : flags.key ? { key: flags.key } : {}),
        ...(flags.head === false ? { head: null } : flags.head ? { head: flags.head } : {}),
      };
      let result: AuditVerifyResult;
      try {
        result = await verifyAuditLog(file, options);
      } catch (err) {
        process.stderr.write(`warden: cannot verify ${file}: ${(err as Error).message}\n`);
        process.exitCode = 2;
        return;
      }
      process.stdout.write(flags.json ? `${JSON.stringify(result)}\n` : report(result));
      process.exitCode = result.ok ? 0 : 1;
    });
  registerAuditReplayCommand(audit);
}

function report(result: AuditVerifyResult): string {
  if (!result.ok) {
    const seq = result.seq !== undefined ? ` (seq ${result.seq})` : "";
    const where = result.line > 0 ? `broken at line ${result.line}${seq}` : "broken";
    return [
      `${where}: ${printable(result.problem)}`,
      `${result.records} records verified before it`,
      ...(result.text ? [`record: ${printable(result.text)}`] : []),
    ].join("\n") + "\n";
  }
  const notes: string[] = [];
  if (result.unkeyed) notes.push("no key: a legacy unkeyed chain, whose cut tail or complete rewrite cannot be told");
  else if (result.legacy) notes.push(`the first ${result.legacy} in the legacy unkeyed format`);
  if (result.tail_unchecked) notes.push("tail not checked: --no-head");
  const lines = [`ok: ${result.records} records${notes.length ? ` (${notes.join("; ")})` : ""}`];
  const open = result.open_intents ?? [];
  if (open.length > 0) {
    lines.push(`${open.length} intent${open.length === 1 ? "" : "s"} without an outcome (the server stopped or could not record the outcome; the call may or may not have taken effect):`);
    for (const o of open.slice(0, 50)) lines.push(`  line ${o.line} (seq ${o.seq}): ${printable(o.tool)} id ${printable(o.id)}`);
    if (open.length > 50) lines.push(`  … and ${open.length - 50} more (--json lists them all)`);
  }
  return `${lines.join("\n")}\n`;
}

/** A tampered line may hold terminal escape sequences: show control characters escaped. */
function printable(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}
