import { z } from "zod";

/** How long a call that matched an `ask` rule waits for a human, and how it keeps its client waiting. */
export const approvalsSchema = z
  .object({
    timeout_s: z
      .number()
      .int()
      .min(1)
      .max(86_400)
      .default(300)
      .describe("Seconds a question waits (elicitation or operator queue); no answer by then denies the call (rule approval.timeout)."),
    progress_interval_s: z
      .number()
      .int()
      .min(1)
      .max(60)
      .default(10)
      .describe("While a call waits in the operator queue, a progress notification is sent this often (when the client gave a progressToken) so its request timeout does not fire."),
  })
  .strict();

export type ApprovalsPolicy = z.infer<typeof approvalsSchema>;
