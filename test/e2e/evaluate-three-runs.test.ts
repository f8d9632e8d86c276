import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { startFakeModel, type ScriptedCall } from "../support/fake-model-server.js";
import { canary, makeTempDir, removeDir, treeDigest, writeTree } from "../support/tree.js";
import { runOpencode } from "./support/opencode.js";
import { CLI, requireBuild } from "./support/warden-process.js";

/**
 * docs/EVALUATION.md's worked example, run for real: three OpenCode runs at once on one project,
 * each through `warden serve --overlay --workspace run-N` with OpenCode's own edit and bash tools
 * denied (they would write the real tree), then a diff of each and the best one applied. A scripted
 * model on 127.0.0.1 stands in for the LLM (no network here); everything else is real.
 */
const CANARY = canary("REAL");
const PERMISSION = { "*": "allow", edit: "deny", bash: "deny" };
const fix = (to: string): ScriptedCall => ({ tool: "warden_edit_file", args: { path: "src/sum.js", edits: [{ old_text: "a - b", new_text: to }] } });
const test: ScriptedCall = { tool: "warden_execute_command", args: { command: "node test.js" } };
const SCRIPTS: ScriptedCall[][] = [
  // run-1: a wrong fix
  [fix("a * b"), test],
  // run-2: the right fix, and a note
  [fix("a + b"), test, { tool: "warden_write_file", args: { path: "NOTES.md", content: "sum: fixed the operator\n" } }],
  // run-3: tries OpenCode's own write tool on the real tree (denied), then deletes the canary through warden
  [{ tool: "write", args: { filePath: "canary.txt", content: "overwritten by opencode" } }, { tool: "warden_execute_command", args: { command: "rm canary.txt" } }, test],
];

let base: string;
let project: string;
let state: string;
let policy: string;

beforeAll(() => {
  requireBuild();
  base = makeTempDir("warden-e2e-eval3-");
  project = join(base, "project");
  state = join(base, "state");
  writeTree(project, {
    "src/sum.js": "exports.sum = (a, b) => a - b;\n",
    "test.js": "const { sum } = require('./src/sum.js');\nif (sum(2, 3) !== 5) { console.log('FAIL: sum(2, 3) =', sum(2, 3)); process.exit(1); }\nconsole.log('PASS');\n",
    "canary.txt": CANARY,
  });
  policy = join(base, "policy.json");
  writeFileSync(policy, JSON.stringify({ commands: { allow: [{ program: "node" }, { program: "rm" }] }, execution: { timeout_s: 30 } }));
});
afterAll(() => removeDir(base));

const warden = (...args: string[]) => spawnSync(process.execPath, [CLI, ...args, "--state-dir", state], { encoding: "utf8" });

it("three OpenCode runs in parallel, each in its own workspace; diff each, apply the best", async () => {
  const before = treeDigest(project);
  const models = await Promise.all(SCRIPTS.map((s) => startFakeModel(s)));
  try {
    const runs = await Promise.all(
      models.map((model, i) =>
        runOpencode({
          cwd: project,
          home: join(base, `home-${i + 1}`),
          baseURL: model.baseURL,
          mcp: { warden: { type: "local", command: [process.execPath, CLI, "serve", "--policy", policy, "--overlay", "--workspace", `run-${i + 1}`, "--state-dir", state], enabled: true } },
          permission: PERMISSION,
          prompt: "make test.js pass",
          timeoutMs: 120_000,
        }),
      ),
    );
    runs.forEach((run, i) => expect(run.code, `run-${i + 1}: ${run.stderr}\n${run.stdout}`).toBe(0));
    const results = models.map((m) => m.toolResults());
    expect(results[0]![1]).toMatch(/FAIL: sum\(2, 3\) = 6/);
    expect(results[1]![1]).toMatch(/PASS/);
    expect(results[2]![0]).not.toMatch(/^Wrote file/);
    expect(results[2]![2]).toMatch(/FAIL: sum\(2, 3\) = -1/);
  } finally {
    await Promise.all(models.map((m) => m.close()));
  }
  // Nothing reached the real project: not warden's tools, not OpenCode's own write.
  expect(treeDigest(project)).toBe(before);
  expect(readFileSync(join(project, "canary.txt"), "utf8")).toBe(CANARY);

  const stats = [1, 2, 3].map((n) => warden("workspace", "diff", `run-${n}`));
  expect(stats.map((s) => s.stdout.trim().split("\n").sort())).toEqual([["M\tsrc/sum.js"], ["A\tNOTES.md", "M\tsrc/sum.js"], ["D\tcanary.txt"]]);
  const applied = warden("workspace", "apply", "run-2");
  expect(applied.status, applied.stderr).toBe(0);
  expect(readFileSync(join(project, "src/sum.js"), "utf8")).toBe("exports.sum = (a, b) => a + b;\n");
  expect(readFileSync(join(project, "NOTES.md"), "utf8")).toBe("sum: fixed the operator\n");
  expect(spawnSync("node", ["test.js"], { cwd: project, encoding: "utf8" }).stdout).toBe("PASS\n");
  expect(readFileSync(join(project, "canary.txt"), "utf8")).toBe(CANARY);
  expect(warden("workspace", "discard", "run-1").status).toBe(0);
  expect(warden("workspace", "discard", "run-3").status).toBe(0);
}, 300_000);
