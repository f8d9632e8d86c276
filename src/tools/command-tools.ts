import { checkCommandExistsTool } from "./check-command-exists.js";
import { executeCommandTool } from "./execute-command.js";
import { killProcessTool } from "./kill-process.js";
import { listProcessesTool } from "./list-processes.js";
import { readProcessOutputTool } from "./read-process-output.js";
import type { ToolDefinition } from "./tool.js";
import { writeProcessInputTool } from "./write-process-input.js";

/** The command tools; they need `services.commands` and `services.processes` (src/exec/services.ts). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export const commandTools: ToolDefinition<any>[] = [
  executeCommandTool,
  checkCommandExistsTool,
  readProcessOutputTool,
  writeProcessInputTool,
  killProcessTool,
  listProcessesTool,
];
