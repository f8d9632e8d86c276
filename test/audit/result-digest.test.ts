import { describe, expect, it } from "vitest";
import { resultDigest } from "../../src/audit/result-digest.js";

describe("resultDigest", () => {
  const result = { exit_code: 0, stdout: "hi\n", stderr: "", timed_out: false, truncated: false };
  it("leaves timing out and ignores key order, so identical runs digest alike", () => {
    const a = resultDigest({ ok: true, structured: { ...result, duration_ms: 5 } });
    const b = resultDigest({ ok: true, structured: { duration_ms: 900, truncated: false, timed_out: false, stderr: "", stdout: "hi\n", exit_code: 0 } });
    expect(a).toBe(b);
    expect(a).toMatch(/^[0-9a-f]{64}$/);
  });
  it.each([
    ["other output", { ok: true as const, structured: { ...result, stdout: "ho\n" } }],
    ["another exit code", { ok: true as const, structured: { ...result, exit_code: 1 } }],
    ["a failure", { ok: false as const, rule: "filesystem.deny:**/.env", message: "hidden by a deny rule" }],
  ])("tells %s apart", (_what, other) => {
    expect(resultDigest(other)).not.toBe(resultDigest({ ok: true, structured: result }));
  });
});

describe("resultDigest of a large result", () => {
  it("is the sha256 of the canonical JSON text (hashed in pieces, same digest)", async () => {
    const { createHash } = await import("node:crypto");
    const { canonicalJson } = await import("../../src/audit/canonical-json.js");
    const content = "line \u00e9 \"q\"\n".repeat(300_000) + "\u{1F600}";
    const structured = { path: "/r/big.txt", content, size: content.length, truncated: false };
    const whole = createHash("sha256").update(canonicalJson({ ok: true, structured }), "utf8").digest("hex");
    expect(resultDigest({ ok: true, structured })).toBe(whole);
  });
});
