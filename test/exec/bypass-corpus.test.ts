import { closeSync, existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from "vitest";
import { mergedRootOpener } from "../../src/config/merged-roots.js";
import { createNativeBackend } from "../../src/exec/native/index.js";
import type { ExecBackend } from "../../src/exec/types.js";
import type { EffectiveRoot } from "../../src/policy/roots.js";
import { openWorkspace, type WorkspaceHandle } from "../../src/workspace/index.js";
import { BYPASS_CORPUS } from "../policy/command/bypass-corpus.js";
import { makeCorpusFixture, type CorpusFixture } from "../policy/command/fixture.js";
import { runCorpusCase } from "../support/engines/corpus-run.js";
import { driverOf, isWorkspaceMode, MODES, type Mode } from "../support/modes.js";
import { treeDigest } from "../support/tree.js";

/**
 * The shared bypass corpus (test/policy/command/bypass-corpus.ts) end to end: every case goes
 * through the real bridge (real command policy, real bubblewrap, real execution) in the corpus
 * corpus fixture's temp root (a fresh one per case: earlier cases really ran and may have changed
 * the tree, and decisions may depend on it). Whatever the policy decides, the canary outside the roots must never
 * appear, the outside secret must never come back in any output, and nothing outside may change.
 * Cases marked `confinement` are allowed by the policy on purpose: only the sandbox holds them.
 * In overlay mode (serve --overlay) the writable root is a fresh workspace's merged view, held by
 * descriptor there, commands enter its namespace, and the real root must not change either.
 */
describe.each(MODES)("bypass corpus, end to end with real execution under bubblewrap (%s mode)", (mode: Mode) => {
  let fx: CorpusFixture;
  let native: ExecBackend;
  let backend: ExecBackend;
  let ws: WorkspaceHandle | undefined;
  const SECRET = "TOPSECRET";

  beforeAll(() => {
    // One backend for every case; in overlay mode it enters the workspace its roots are held in.
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

  /** The fixture's roots as serve --overlay holds them: the writable one in a fresh workspace's merged view. */
  async function overlayRoots(): Promise<EffectiveRoot[]> {
    ws = await openWorkspace({ stateDir: join(fx.dir, "state"), name: "corpus", roots: [fx.root], driver: driverOf(mode) });
    const held = mergedRootOpener({ via: `/proc/${ws.holderPid}/root`, roots: [fx.root], fsType: ws.fsType })(fx.root);
    onTestFinished(() => closeSync(held.fd));
    return [
      { path: fx.root, writable: true, held },
      { path: fx.ro, writable: false },
    ];
  }

  // In fuse (and copy) mode only the cases the policy allows: a denied one never runs, so the view it would have
  // run in cannot matter (its decision is the same pure policy in every mode, checked above).
  const cases = mode === "fuse" || mode === "copy" ? BYPASS_CORPUS.filter((c) => c.expect === "allow") : BYPASS_CORPUS;
  it.each(cases.map((c) => [c.id, c] as const))("%s", async (_id, c) => {
    fx = makeCorpusFixture();
    onTestFinished(() => fx.cleanup());
    const outsideBefore = readdirSync(fx.outside).sort();
    const realBefore = treeDigest(fx.root);
    const roots = isWorkspaceMode(mode) ? await overlayRoots() : undefined;
    if (roots) onTestFinished(async () => ws!.close());
    const outcome = await runCorpusCase(fx, backend, c, roots);
    expect(outcome.allowed, `${c.id}: ${outcome.rule} ${outcome.reason}`).toBe(c.expect === "allow");
    expect(JSON.stringify(outcome)).not.toContain(SECRET);
    expect(existsSync(fx.canary)).toBe(false);
    expect(readdirSync(fx.outside).sort()).toEqual(outsideBefore);
    expect(readFileSync(`${fx.outside}/secret.txt`, "utf8")).toBe(`${SECRET}\n`);
    if (isWorkspaceMode(mode)) expect(treeDigest(fx.root), "the real tree under a workspace never changes").toBe(realBefore);
  });
});
