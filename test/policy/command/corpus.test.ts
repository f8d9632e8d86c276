import { afterAll, describe, expect, test } from "vitest";
import { decideCommand } from "../../../src/policy/command/index.js";
import { BYPASS_CORPUS } from "./bypass-corpus.js";
import { makeCorpusFixture } from "./fixture.js";

const fx = makeCorpusFixture();
afterAll(() => fx.cleanup());

describe("bypass corpus (decision level)", () => {
  test("is large enough and has unique ids", () => {
    expect(BYPASS_CORPUS.length).toBeGreaterThanOrEqual(80);
    expect(new Set(BYPASS_CORPUS.map((c) => c.id)).size).toBe(BYPASS_CORPUS.length);
    expect(BYPASS_CORPUS.filter((c) => c.expect === "deny").length).toBeGreaterThanOrEqual(80);
  });

  test.each(BYPASS_CORPUS.map((c) => [c.id, c] as const))("%s", async (_id, c) => {
    const d = await decideCommand(fx.fill(c.input), fx.policy, fx.env({ extraAllowed: c.extraAllowed ?? [] }));
    expect({ allow: d.allow, rule: d.rule }).toEqual({ allow: c.expect === "allow", rule: c.rule });
    if (d.allow) {
      expect(d.plan).toBeDefined();
      // What runs is exactly what was checked.
      if (d.plan!.kind === "script") expect(d.plan!.script).toBe(fx.fill(c.input));
    } else {
      expect(d.plan).toBeUndefined();
    }
  });
});
