import { existsSync, readdirSync, readFileSync } from "node:fs";
import { expect, it } from "vitest";
import { createMemoryAuditSink } from "../../../src/audit/memory-sink.js";
import { createCommandBridge } from "../../../src/exec/bridge.js";
import type { ExecBackend } from "../../../src/exec/types.js";
import type { EffectiveRoot } from "../../../src/policy/roots.js";
import { BYPASS_CORPUS } from "../../policy/command/bypass-corpus.js";
import type { CorpusFixture } from "../../policy/command/fixture.js";

const SECRET = "TOPSECRET";

/**
 * The native backend's bypass corpus (test/policy/command/bypass-corpus.ts) through the real bridge
 * with another backend. Invariants for every case: the canary outside the roots never appears, the
 * outside secret never comes back, nothing outside changes, and what the policy denies stays
 * denied. A case the native run allows may be denied here (fail closed: e.g. a program path the
 * backend cannot canonicalize), never the other way round.
 */
/**
 * One corpus case through a fresh real bridge on `backend`, in the fixture's roots (`roots`: the
 * same two, held as the server would hold them, e.g. in a workspace's merged view).
 */
export function runCorpusCase(fx: CorpusFixture, backend: ExecBackend, c: (typeof BYPASS_CORPUS)[number], roots?: EffectiveRoot[]) {
  const bridge = createCommandBridge({
    policy: fx.policy,
    backend,
    audit: createMemoryAuditSink(),
    roots: async () =>
      roots ?? [
        { path: fx.root, writable: true },
        { path: fx.ro, writable: false },
      ],
    extraAllowed: c.extraAllowed ?? [],
  });
  return bridge.execute({ command: fx.fill(c.input), timeout: 10 });
}

export function corpusCases(name: string, ctx: () => { fx: CorpusFixture; backend: ExecBackend }): void {
  const ran: string[] = [];
  const allowedHere: string[] = [];
  it.each(BYPASS_CORPUS.map((c) => [c.id, c] as const))(`${name}: %s`, async (_id, c) => {
    const { fx, backend } = ctx();
    const before = readdirSync(fx.outside).sort();
    const outcome = await runCorpusCase(fx, backend, c);
    if (outcome.allowed) allowedHere.push(c.id);
    if (process.env.CORPUS_DEBUG && c.expect === "allow") console.log(c.id, outcome.allowed, outcome.rule, outcome.reason, JSON.stringify(outcome.result)?.slice(0, 300));
    if (outcome.result && outcome.result.exit_code === 0 && !outcome.result.error) ran.push(c.id);
    if (c.expect === "deny") expect(outcome.allowed, `${c.id}: ${outcome.rule} ${outcome.reason}`).toBe(false);
    expect(JSON.stringify(outcome)).not.toContain(SECRET);
    expect(existsSync(fx.canary)).toBe(false);
    expect(readdirSync(fx.outside).sort()).toEqual(before);
    expect(readFileSync(`${fx.outside}/secret.txt`, "utf8")).toBe(`${SECRET}\n`);
  });
  it(`${name}: the allowed everyday commands really ran on the backend`, () => {
    const expectedAllow = BYPASS_CORPUS.filter((c) => c.expect === "allow").length;
    // Most allowed cases succeed for real; a few fail by design (confinement cases) or fail closed.
    expect(ran.length, `ran: ${ran.length}, allowed here: ${allowedHere.length} of ${expectedAllow}`).toBeGreaterThanOrEqual(Math.floor(expectedAllow / 2));
  });
}

/** The backend with the fixture's trusted PATH directory visible read-only (as /usr/bin is). */
export function withTrustedBin(backend: ExecBackend, bin: string): ExecBackend {
  const extra = { path: bin, writable: false };
  return {
    name: backend.name,
    describe: () => backend.describe(),
    which: (p, t) => backend.which(p, t),
    run: (req) => backend.run({ ...req, roots: [...req.roots, extra] }),
    start: (req) => backend.start({ ...req, roots: [...req.roots, extra] }),
    close: () => backend.close(),
  };
}
