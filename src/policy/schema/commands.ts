import { z } from "zod";

// Owned by the command-policy work (issue 3). Shape of the `commands` section.

export const commandRuleSchema = z
  .object({
    program: z.string().min(1).describe("Program name resolved on trusted_path (e.g. `git`), or `*` for any."),
    args_deny: z
      .array(z.string())
      .default([])
      .describe("Regular expressions; a command whose argument matches any is denied by this rule."),
    name: z.string().optional().describe("Rule name reported in decisions; defaults to commands.allow[i] / commands.deny[i]."),
  })
  .strict();

export const commandsSchema = z
  .object({
    trusted_path: z
      .array(z.string().startsWith("/"))
      .default(["/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"])
      .describe("The only directories program names are resolved in. The caller's PATH is never used."),
    allow: z.array(commandRuleSchema).default([]).describe("Programs execute_command may run."),
    deny: z.array(commandRuleSchema).default([]).describe("Programs or argument patterns that are always denied. Deny beats allow."),
    shells: z
      .array(z.string())
      .default([])
      .describe("Shells (sh, bash, ...) allowed to run a script given to them (-c, heredoc, pipe). Empty: none."),
  })
  .strict();

export type CommandsPolicy = z.infer<typeof commandsSchema>;
export type CommandRule = z.infer<typeof commandRuleSchema>;
