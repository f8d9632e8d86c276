import { z } from "zod";
import { auditSchema } from "./audit.js";
import { commandsSchema } from "./commands.js";
import { executionSchema } from "./execution.js";
import { filesystemSchema } from "./filesystem.js";
import { workspaceSchema } from "./workspace.js";

export * from "./audit.js";
export * from "./commands.js";
export * from "./execution.js";
export * from "./filesystem.js";
export * from "./workspace.js";

/** A whole policy file. Every section defaults, so `{}` is a valid (deny-all-commands) policy. */
export const policySchema = z
  .object({
    $schema: z.string().optional(),
    description: z.string().optional(),
    filesystem: filesystemSchema.default(filesystemSchema.parse({})),
    commands: commandsSchema.default(commandsSchema.parse({})),
    execution: executionSchema.default(executionSchema.parse({})),
    audit: auditSchema.default(auditSchema.parse({})),
    workspace: workspaceSchema.default(workspaceSchema.parse({})),
  })
  .strict();

export type Policy = z.infer<typeof policySchema>;
