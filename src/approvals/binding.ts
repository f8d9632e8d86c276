import { createHash } from "node:crypto";
import { canonicalJson } from "../audit/canonical-json.js";
import type { ApprovalBinding } from "./types.js";

/** sha256 (hex) of a value's canonical JSON: the same arguments in any key order hash the same. */
export function canonicalSha256(value: unknown): string {
  return createHash("sha256").update(canonicalJson(value)).digest("hex");
}

/** Binds an approval to one call under one policy until `now + timeoutMs`. */
export function bindApproval(call: { session: string | null; tool: string; args: Record<string, unknown> }, policySha256: string, timeoutMs: number, now: number): ApprovalBinding {
  return {
    session: call.session,
    tool: call.tool,
    args_sha256: canonicalSha256(call.args),
    policy_sha256: policySha256,
    expires_at: new Date(now + timeoutMs).toISOString(),
  };
}

/**
 * Why an approval does not cover a call (it expired, or the call is not the one asked about), or
 * null when it does. Run when the call goes on, so an approval is never spent on something else.
 */
export function bindingMismatch(binding: ApprovalBinding, call: { session: string | null; tool: string; args: Record<string, unknown> }, policySha256: string, now: number): string | null {
  if (now > Date.parse(binding.expires_at)) return `the approval expired at ${binding.expires_at}`;
  if (binding.session !== call.session) return "the approval was given for another session";
  if (binding.tool !== call.tool) return `the approval was given for ${binding.tool}, not ${call.tool}`;
  if (binding.args_sha256 !== canonicalSha256(call.args)) return "the arguments changed after the question was asked";
  if (binding.policy_sha256 !== policySha256) return "the policy changed after the question was asked";
  return null;
}
