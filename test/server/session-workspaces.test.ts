import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { listWorkspaces } from "../../src/workspace/index.js";
import { processStartTime } from "../../src/workspace/proc.js";
import { startWardenHttp, type WardenHttpProcess } from "../e2e/support/warden-process.js";
import { connectMcp, textOf, TOKEN, type HttpMcpClient } from "../http/support.js";
import { requireBinary } from "../support/engines/require-binary.js";
import { makeTempDir, removeDir, treeDigest, writeTree } from "../support/tree.js";
import { CLI } from "../support/warden-client.js";

/**
 * `serve --http --workspace-per-session`: every MCP session works in a workspace of its own (real
 * overlayfs, real bubblewrap), sessions do not see each other's edits, a closed session's workspace
 * is unmounted and kept, and a `kill -9` of the server leaves no holder (so no mount) behind, only
 * workspaces that `workspace list` shows orphaned. The real tree never changes.
 */
let base: string;
let root: string;
let state: string;
let warden: WardenHttpProcess | undefined;

beforeAll(() => {
  requireBinary("bwrap", "bubblewrap");
  base = makeTempDir("warden-per-session-");
  root = join(base, "proj");
  state = join(base, "state");
  writeTree(base, { "proj/task.txt": "the task\n" });
});
afterAll(async () => {
  await warden?.stop();
  removeDir(base);
});

const gone = async (pid: number) => {
  // No timing assertion: the bound only stops a hung test.
  for (let i = 0; i < 600 && processStartTime(pid) !== null; i++) await new Promise((r) => setTimeout(r, 50));
  return processStartTime(pid) === null;
};

it("three sessions at once, each in its own workspace; close and kill -9 leave no mount, list shows what is left", async () => {
  const before = treeDigest(root);
  warden = await startWardenHttp(["--root", root, "--workspace-per-session", "--workspace", "eval", "--state-dir", state], { WARDEN_TOKEN: TOKEN });
  expect(warden.stderr()).toContain("every MCP session gets its own workspace");
  const clients: HttpMcpClient[] = await Promise.all([0, 1, 2].map(() => connectMcp(warden!.url, TOKEN)));
  const names: string[] = [];
  await Promise.all(
    clients.map(async (c, i) => {
      const info = (await c.call("get_system_info")).structuredContent as { workspace: { mode: string; name: string } };
      expect(info.workspace.mode).toBe("overlay");
      names[i] = info.workspace.name;
      expect((await c.call("write_file", { path: "task.txt", content: `solved by session ${i}\n` })).isError).toBeFalsy();
      const cmd = await c.call("execute_command", { command: `echo command of session ${i} > out.txt && cat task.txt out.txt` });
      expect(cmd.isError, textOf(cmd)).toBeFalsy();
      expect(textOf(cmd)).toContain(`solved by session ${i}`);
      expect(textOf(cmd)).toContain(`command of session ${i}`);
    }),
  );
  expect(new Set(names).size).toBe(3);
  for (const n of names) expect(n).toMatch(/^eval-s[0-9a-f]{12}$/);
  // No session sees another's edits.
  for (const [i, c] of clients.entries()) expect(textOf(await c.call("read_file", { path: "task.txt" }))).toBe(`solved by session ${i}\n`);

  const live = listWorkspaces({ stateDir: state });
  const holders = names.map((n) => live.find((w) => w.name === n));
  for (const h of holders) expect(h?.state).toBe("live");

  // A session that ends: its holder ends (the kernel unmounts), its workspace stays, closed.
  const closedName = names[0]!;
  const closedHolder = holderOf(closedName);
  await clients[0]!.close();
  expect(await gone(closedHolder)).toBe(true);
  for (let i = 0; i < 200 && listWorkspaces({ stateDir: state }).find((w) => w.name === closedName)?.state !== "closed"; i++) await new Promise((r) => setTimeout(r, 50));
  expect(listWorkspaces({ stateDir: state }).find((w) => w.name === closedName)?.state).toBe("closed");

  // kill -9 of the server: every holder follows it, nothing stays mounted, the rest is orphaned.
  const others = names.slice(1).map(holderOf);
  const exited = new Promise((r) => warden!.child.once("exit", r));
  warden.child.kill("SIGKILL");
  await exited;
  warden = undefined;
  for (const pid of others) expect(await gone(pid)).toBe(true);
  for (const c of clients.slice(1)) await c.client.close().catch(() => undefined);
  const after = listWorkspaces({ stateDir: state });
  for (const n of names.slice(1)) expect(after.find((w) => w.name === n)?.state).toBe("orphaned");
  const cli = spawnSync(process.execPath, [CLI, "workspace", "diff", names[2]!, "--state-dir", state], { encoding: "utf8" });
  expect(cli.stdout.trim().split("\n").sort()).toEqual(["A\tout.txt", "M\ttask.txt"]);
  expect(treeDigest(root)).toBe(before);
  expect(readFileSync(join(root, "task.txt"), "utf8")).toBe("the task\n");
  expect(existsSync(join(root, "out.txt"))).toBe(false);
}, 120_000);

/** The holder pid a workspace's manifest names. */
function holderOf(name: string): number {
  const m = JSON.parse(readFileSync(join(state, "workspaces", name, "manifest.json"), "utf8")) as { holder: { pid: number } | null };
  if (!m.holder) throw new Error(`workspace ${name} has no holder`);
  return m.holder.pid;
}
