import { z } from "zod";

export const auditSchema = z
  .object({
    file: z.string().optional().describe("JSONL audit log, hash-chained. --audit-log wins."),
    redact_keys: z
      .array(z.string())
      .default([
        "*token*",
        "*secret*",
        "*password*",
        "*passwd*",
        "*passphrase*",
        "*api*key*",
        "*credential*",
        "*private*key*",
        "*authorization*",
        "*cookie*",
      ])
      .describe("Argument and env keys (globs, case-insensitive) whose values are redacted."),
  })
  .strict();

export type AuditPolicy = z.infer<typeof auditSchema>;
