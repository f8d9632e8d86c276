import { spawnSync } from "node:child_process";
import { symlinkSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeTempDir, removeDir, writeTree } from "./tree.js";

/**
 * The closing `tests: N passed, N failed, N skipped` line, from a real vitest run of a tiny
 * project in a temporary directory that uses test/support/count-reporter.ts.
 */
const REPO = join(import.meta.dirname, "..", "..");
let dir: string;

beforeAll(() => {
  dir = makeTempDir("warden-count-");
  symlinkSync(join(REPO, "node_modules"), join(dir, "node_modules"));
  writeTree(dir, {
    "package.json": JSON.stringify({ type: "module" }),
    "vitest.config.mjs": `export default { test: { include: ["t/**/*.test.ts"], reporters: [${JSON.stringify(join(REPO, "test", "support", "count-reporter.ts"))}] } };\n`,
    // A suite whose setup fails: its two tests never run and must count as failed; the skipped one stays skipped.
    "t/engine.test.ts": [
      `import { beforeAll, describe, it } from "vitest";`,
      `describe("needs an engine", () => {`,
      `  beforeAll(() => { throw new Error("engine missing"); });`,
      `  it("a", () => {});`,
      `  it("b", () => {});`,
      `  it.skip("c", () => {});`,
      `});`,
      `describe("healthy", () => {`,
      `  it("ok", () => {});`,
      `  it.skip("skipped on purpose", () => {});`,
      `  it("skips itself", (ctx) => ctx.skip("not here"));`,
      `});`,
    ].join("\n"),
    // A module-level beforeAll that throws.
    "t/module-hook.test.ts": `import { beforeAll, it } from "vitest";\nbeforeAll(() => { throw new Error("no"); });\nit("x", () => {});\n`,
    // A file that cannot even be collected: no test to blame, still one failure.
    "t/broken-import.test.ts": `import "./does-not-exist.js";\nimport { it } from "vitest";\nit("y", () => {});\n`,
    // All tests pass but afterAll throws: the file failed.
    "t/teardown.test.ts": `import { afterAll, it } from "vitest";\nafterAll(() => { throw new Error("teardown"); });\nit("z", () => {});\n`,
  });
});
afterAll(() => removeDir(dir));

function vitest(files: string[]): { status: number | null; line: string; out: string } {
  const r = spawnSync(process.execPath, [join(REPO, "node_modules", "vitest", "vitest.mjs"), "run", ...files], {
    cwd: dir,
    encoding: "utf8",
    timeout: 120_000,
    env: { ...process.env, CI: "1", NO_COLOR: "1" },
  });
  const out = r.stdout + r.stderr;
  return { status: r.status, line: /^tests: .*$/m.exec(r.stdout)?.[0] ?? "", out };
}

describe("count reporter", () => {
  it("counts tests that a failed beforeAll stopped as failed, never as skipped", () => {
    const r = vitest(["t/engine.test.ts", "t/module-hook.test.ts"]);
    expect(r.status, r.out).toBe(1);
    // engine: a, b failed; c, "skipped on purpose", "skips itself" skipped; ok passed. module-hook: x failed.
    expect(r.line, r.out).toBe("tests: 1 passed, 3 failed, 3 skipped");
  });

  it("a file that fails with no test to blame still counts as a failure", () => {
    const r = vitest(["t/broken-import.test.ts", "t/teardown.test.ts"]);
    expect(r.status, r.out).toBe(1);
    expect(r.line, r.out).toBe("tests: 1 passed, 2 failed, 0 skipped");
  });
});
