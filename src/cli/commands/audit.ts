import type { Command } from "commander";
import { verifyAuditLog } from "../../audit/verify.js";

/**
 * `warden audit verify FILE`: exit 0 and `ok: N records` when the hash chain holds, exit 1 and the
 * first bad record when it does not, exit 2 when the file cannot be read (nothing was verified).
 */
export function registerAuditCommand(program: Command): void {
  const audit = program.command("audit").description("audit log tools");
  audit
    .command("verify")
    .description("verify an audit log's hash chain; exit 1 and the first bad record if it is broken")
    .argument("<file>", "JSONL audit log")
    .option("--json", "print the result as JSON")
    .action(async (file: string, flags: { json?: boolean }) => {
      let result;
      try {
        result = await verifyAuditLog(file);
      } catch (err) {
        process.stderr.write(`warden: cannot read ${file}: ${(err as Error).message}\n`);
        process.exitCode = 2;
        return;
      }
      if (flags.json) process.stdout.write(`${JSON.stringify(result)}\n`);
      else if (result.ok) process.stdout.write(`ok: ${result.records} records\n`);
      else {
        const seq = result.seq !== undefined ? ` (seq ${result.seq})` : "";
        process.stdout.write(`broken at line ${result.line}${seq}: ${result.problem}\n`);
        process.stdout.write(`${result.records} records verified before it\n`);
        if (result.text) process.stdout.write(`record: ${printable(result.text)}\n`);
      }
      process.exitCode = result.ok ? 0 : 1;
    });
}

/** A tampered line may hold terminal escape sequences: show control characters escaped. */
function printable(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}
