import { z } from "zod";

export const auditSchema = z
  .object({
    file: z.string().optional().describe("JSONL audit log, keyed and hash-chained. --audit-log and WARDEN_AUDIT_LOG win."),
    key_file: z
      .string()
      .optional()
      .describe("Key that seals every record (HMAC-SHA256), created at first start with mode 0600. Default: the log's path + `.key`. WARDEN_AUDIT_KEY wins. Must lie outside every root."),
    head_file: z
      .string()
      .optional()
      .describe("Head file: seq and MAC of the last record, replaced atomically after each one, so a cut tail is found. Default: the log's path + `.head`. WARDEN_AUDIT_HEAD wins. Must lie outside every root."),
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
