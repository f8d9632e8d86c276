#!/usr/bin/env node
import { Command } from "commander";
import { packageVersion } from "../config/package-root.js";
import { registerAgentCommand } from "./commands/agent.js";
import { registerAuditCommand } from "./commands/audit.js";
import { registerCheckCommand } from "./commands/check.js";
import { registerServeCommand } from "./commands/serve.js";
import { UsageError } from "./options.js";
import { registerWorkspaceCommand } from "./commands/workspace.js";
import { registerTrajectoryCommand } from "./commands/trajectory.js";

/** The `warden` command line. Each command lives in its own file under commands/. */
async function main(argv: string[]): Promise<void> {
  const [major = 0, minor = 0] = process.versions.node.split(".").map(Number);
  if (major < 20 || (major === 20 && minor < 19)) {
    process.stderr.write(`warden: Node.js >= 20.19 is required (this is ${process.version})\n`);
    process.exit(1);
  }
  const program = new Command("warden")
    .description("mcp-warden: an MCP tool server whose file tools run as confined WASI modules")
    .version(packageVersion(), "-v, --version")
    .showHelpAfterError()
    // commander's own parse errors (unknown option, missing or invalid argument, no subcommand) are
    // usage errors: exit 2, not 1, which means a denial or a failure (SPEC). Inherited by every command.
    .exitOverride((err) => process.exit(err.exitCode === 0 ? 0 : 2));
  registerServeCommand(program);
  registerCheckCommand(program);
  registerAuditCommand(program);
  registerAgentCommand(program);
  registerWorkspaceCommand(program);
  registerTrajectoryCommand(program);
  await program.parseAsync(argv);
}

main(process.argv).catch((err) => {
  process.stderr.write(`warden: ${(err as Error).message}\n`);
  process.exit(err instanceof UsageError ? 2 : 1);
});
