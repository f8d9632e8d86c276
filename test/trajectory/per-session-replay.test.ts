import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { startWardenHttp, type WardenHttpProcess } from "../e2e/support/warden-process.js";
import { connectMcp, TOKEN } from "../http/support.js";
import { makeTempDir, removeDir, treeDigest, writeTree } from "../support/tree.js";
import { CLI } from "../support/warden-client.js";

/**
 * Many runs at once, then each replayed: `serve --http --workspace-per-session` gives two MCP
 * sessions a workspace each; their records name it, so `warden trajectory replay SESSION` finds
 * each session's own workspace and reproduces it.
 */
let base: string;
let root: string;
let state: string;
let log: string;
let warden: WardenHttpProcess | undefined;

beforeAll(() => {
  base = makeTempDir("warden-session-replay-");
  root = join(base, "proj");
  state = join(base, "state");
  log = join(base, "logs", "audit.jsonl");
  writeTree(base, { "proj/task.txt": "the task\n", "logs/.keep": "" });
});
afterAll(async () => {
  await warden?.stop();
  removeDir(base);
});

it("two sessions over HTTP, each in its own workspace, each replays to the same results and tree", async () => {
  const before = treeDigest(root);
  warden = await startWardenHttp(["--root", root, "--workspace-per-session", "--workspace", "eval", "--state-dir", state, "--audit-log", log], { WARDEN_TOKEN: TOKEN });
  const clients = await Promise.all([0, 1].map(() => connectMcp(warden!.url, TOKEN)));
  await Promise.all(
    clients.map(async (c, i) => {
      expect((await c.call("write_file", { path: "task.txt", content: `solved by run ${i}\n` })).isError).toBeFalsy();
      expect((await c.call("execute_command", { command: `echo run ${i} > out.txt && cat task.txt out.txt` })).isError).toBeFalsy();
    }),
  );
  await Promise.all(clients.map((c) => c.close()));
  await warden.stop();
  warden = undefined;
  expect(treeDigest(root)).toBe(before);

  const run = (args: string[]) => spawnSync(process.execPath, [CLI, ...args], { encoding: "utf8", timeout: 120_000 });
  const sessions = JSON.parse(run(["trajectory", "list", "--audit-log", log, "--json"]).stdout) as { session: string; calls: number }[];
  expect(sessions.map((s) => s.calls)).toEqual([2, 2]);
  const workspaces = new Set<string>();
  for (const { session } of sessions) {
    const r = run(["trajectory", "replay", session, "--audit-log", log, "--state-dir", state, "--json"]);
    expect(r.status, r.stdout + r.stderr).toBe(0);
    const report = JSON.parse(r.stdout) as { workspace: string; steps: { status: string }[]; tree: { same: boolean }[] };
    expect(report.steps.map((s) => s.status)).toEqual(["same", "same"]);
    expect(report.tree.every((t) => t.same)).toBe(true);
    workspaces.add(report.workspace);
  }
  expect([...workspaces].every((w) => w.startsWith("eval-s"))).toBe(true);
  expect(workspaces.size).toBe(2);
  expect(treeDigest(root)).toBe(before);
}, 120_000);
