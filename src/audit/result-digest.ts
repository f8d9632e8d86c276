import { createHash } from "node:crypto";
import { batchedWriter, writeCanonicalJson } from "./canonical-json.js";

/** What a call returned, in the tool layer's one result shape (no import of it: audit/ sits below tools/). */
export type DigestedResult = { ok: true; structured: Record<string, unknown> } | { ok: false; rule: string; message: string };

/** Fields that say how long a call took, not what it returned: left out so two identical runs digest alike. */
const TIMING_KEYS = new Set(["duration_ms"]);

/**
 * sha256 (hex) of a call's result as the client received it: the structured content of a success,
 * the rule and message of a failure, as canonical JSON, timing left out. Audit records carry it as
 * `result_sha256`, so a trajectory can say what each call returned without storing it, and a replay
 * can say where results differ.
 */
export function resultDigest(result: DigestedResult): string {
  const value = result.ok
    ? { ok: true, structured: Object.fromEntries(Object.entries(result.structured).filter(([k]) => !TIMING_KEYS.has(k))) }
    : { ok: false, rule: result.rule, message: result.message };
  const hash = createHash("sha256");
  const out = batchedWriter((text) => hash.update(text, "utf8"));
  writeCanonicalJson(value, out.write);
  out.end();
  return hash.digest("hex");
}
