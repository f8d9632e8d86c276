import { existsSync, readdirSync, readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from "vitest";
import { createNativeBackend } from "../../src/exec/native/index.js";
import type { ExecBackend } from "../../src/exec/types.js";
import { BYPASS_CORPUS } from "../policy/command/bypass-corpus.js";
import { makeCorpusFixture, type CorpusFixture } from "../policy/command/fixture.js";
import { runCorpusCase } from "../support/engines/corpus-run.js";

/**
 * The shared bypass corpus (test/policy/command/bypass-corpus.ts) end to end: every case goes
 * through the real bridge (real command policy, real bubblewrap, real execution) in the corpus
 * corpus fixture's temp root (a fresh one per case: earlier cases really ran and may have changed
 * the tree, and decisions may depend on it). Whatever the policy decides, the canary outside the roots must never
 * appear, the outside secret must never come back in any output, and nothing outside may change.
 * Cases marked `confinement` are allowed by the policy on purpose: only the sandbox holds them.
 */
describe("bypass corpus, end to end with real execution under bubblewrap", () => {
  let fx: CorpusFixture;
  let native: ExecBackend;
  let backend: ExecBackend;
  const SECRET = "TOPSECRET";

  beforeAll(() => {
    native = createNativeBackend({ confinement: "bubblewrap", killGraceMs: 300 });
    // The fixture's trusted PATH is a temp dir; commands need to see it (read-only), as a real
    // trusted PATH (/usr/bin) is visible. It is not a root: the policy never hears of it.
    const bin = () => ({ path: fx.bin, writable: false });
    backend = {
      ...native,
      name: native.name,
      describe: () => native.describe(),
      which: (p, t) => native.which(p, t),
      run: (req) => native.run({ ...req, roots: [...req.roots, bin()] }),
      start: (req) => native.start({ ...req, roots: [...req.roots, bin()] }),
      close: () => native.close(),
    };
  });
  afterAll(async () => {
    await native.close();
  });

  it("has at least 60 cases", () => {
    expect(BYPASS_CORPUS.length).toBeGreaterThanOrEqual(60);
  });

  it.each(BYPASS_CORPUS.map((c) => [c.id, c] as const))("%s", async (_id, c) => {
    fx = makeCorpusFixture();
    const outsideBefore = readdirSync(fx.outside).sort();
    const outcome = await runCorpusCase(fx, backend, c)
    onTestFinished(() => fx.cleanup());
    expect(outcome.allowed, `${c.id}: ${outcome.rule} ${outcome.reason}`).toBe(c.expect === "allow");
    expect(JSON.stringify(outcome)).not.toContain(SECRET);
    expect(existsSync(fx.canary)).toBe(false);
    expect(readdirSync(fx.outside).sort()).toEqual(outsideBefore);
    expect(readFileSync(`${fx.outside}/secret.txt`, "utf8")).toBe(`${SECRET}\n`);
  });
});
