import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { startFakeModel, type ScriptedCall } from "../support/fake-model-server.js";
import { canary, makeTempDir, removeDir, treeDigest, writeTree } from "../support/tree.js";
import { runOpencode } from "./support/opencode.js";
import { CLI, requireBuild } from "./support/warden-process.js";

/**
 * OpenCode (pinned, headless, a scripted model on 127.0.0.1) driving `warden serve --overlay` over
 * stdio: the agent edits, creates and deletes files with the file tools and with commands; the real
 * project stays byte for byte what it was (a digest of the whole tree and a canary), and
 * `warden workspace diff` shows exactly the agent's edits.
 */
const CANARY = canary("REAL");
const SCRIPT: ScriptedCall[] = [
  { tool: "warden_edit_file", args: { path: "hello.txt", edits: [{ old_text: "hello", new_text: "goodbye" }] } },
  { tool: "warden_execute_command", args: { command: "cat hello.txt && echo made-by-a-command > made.txt && rm canary.txt" } },
  { tool: "warden_read_file", args: { path: "made.txt" } },
  { tool: "warden_get_system_info", args: {} },
];

let base: string;
let project: string;
let state: string;
let policy: string;

beforeAll(() => {
  requireBuild();
  base = makeTempDir("warden-e2e-overlay-");
  project = join(base, "project");
  state = join(base, "state");
  writeTree(project, { "hello.txt": "hello from the project\n", "canary.txt": CANARY });
  policy = join(base, "policy.json");
  writeFileSync(policy, JSON.stringify({ commands: { allow: [{ program: "echo" }, { program: "cat" }, { program: "rm" }] }, execution: { timeout_s: 30 } }));
});
afterAll(() => removeDir(base));

it("OpenCode over stdio with --overlay: the agent's edits land in the workspace, the real tree is untouched", async () => {
  const before = treeDigest(project);
  const model = await startFakeModel(SCRIPT);
  try {
    const warden = [process.execPath, CLI, "serve", "--policy", policy, "--overlay", "--workspace", "agent-run", "--state-dir", state];
    const run = await runOpencode({
      cwd: project,
      home: join(base, "home"),
      baseURL: model.baseURL,
      mcp: { warden: { type: "local", command: warden, enabled: true } },
      prompt: "edit hello.txt and tidy up",
      timeoutMs: 90_000,
    });
    const diag = `opencode exit ${run.code}\n${run.stderr}\n${run.stdout}`;
    const results = model.toolResults();
    expect(results, diag).toHaveLength(4);
    expect(results[1], diag).toContain("goodbye from the project");
    expect(results[2], diag).toContain("made-by-a-command");
    expect(results[3], diag).toMatch(/"mode": "overlay"/);
    expect(run.code, diag).toBe(0);
  } finally {
    await model.close();
  }
  // The real project: exactly as before.
  expect(treeDigest(project)).toBe(before);
  expect(readFileSync(join(project, "canary.txt"), "utf8")).toBe(CANARY);
  expect(existsSync(join(project, "made.txt"))).toBe(false);
  // The workspace holds what the agent did.
  const diff = spawnSync(process.execPath, [CLI, "workspace", "diff", "agent-run", "--state-dir", state], { encoding: "utf8" });
  expect(diff.stdout.trim().split("\n").sort()).toEqual(["A\tmade.txt", "D\tcanary.txt", "M\thello.txt"]);
  const patch = spawnSync(process.execPath, [CLI, "workspace", "diff", "agent-run", "--patch", "--state-dir", state], { encoding: "utf8" });
  expect(patch.stdout).toContain("+goodbye from the project");
}, 120_000);
