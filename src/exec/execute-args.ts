import { z } from "zod";

/**
 * Arguments of execute_command and POST /api/v1/execute. The tool uses the shape as its input
 * schema; the bridge validates again so every caller (REST, host agent) gets the same checks.
 */
export const executeArgsShape = {
  command: z.string().min(1).max(64 * 1024).describe("The command line, in POSIX shell syntax (pipes, &&, redirections are checked part by part)."),
  working_directory: z
    .string()
    .min(1)
    .optional()
    .describe("Directory to run in: absolute, or relative to the first root. Must lie inside a root. Default: the first root."),
  timeout: z.number().positive().optional().describe("Seconds before the command (its whole process group) is stopped. Default and maximum come from the policy."),
  env: z
    .record(z.string(), z.string())
    .optional()
    .describe("Extra environment variables. PATH, LD_*, NODE_OPTIONS, BASH_ENV, GIT_CONFIG* and other variables that change what runs are refused."),
  stdin: z.string().max(16 * 1024 * 1024).optional().describe("Text given to the command on standard input."),
  background: z
    .boolean()
    .optional()
    .describe("Start the command in the background and return a handle for read_process_output, write_process_input and kill_process."),
};

export const executeArgsSchema = z.object(executeArgsShape).strict();
