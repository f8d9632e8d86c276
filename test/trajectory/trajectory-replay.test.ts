import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CLI, startWarden } from "../support/warden-client.js";
import { canary, makeTempDir, removeDir, writeTree } from "../support/tree.js";

/**
 * `warden trajectory replay` on a real `serve --overlay` session (kernel overlayfs, bubblewrap):
 * the calls run again through a real server on a fresh workspace, results and the final tree compared.
 */
let dir: string;
let proj: string;
let state: string;
let log: string;
let session: string;
const secret = canary("OUTSIDE");

const warden = (args: string[]) => spawnSync(process.execPath, [CLI, ...args], { encoding: "utf8", timeout: 120_000, cwd: dir });
const replay = (...extra: string[]) => warden(["trajectory", "replay", session, "--audit-log", log, "--workspace", "rec", "--state-dir", state, "--json", ...extra]);

type Report = { same: boolean; steps: { index: number; tool: string; status: string; why?: string }[]; tree: { same: boolean; differences: string[] }[] };

beforeAll(async () => {
  dir = makeTempDir("warden-replay-");
  proj = join(dir, "proj");
  state = join(dir, "state");
  log = join(dir, "logs", "audit.jsonl");
  writeTree(dir, { "proj/a.txt": "alpha\n", "logs/.keep": "", "outside/canary.txt": secret, "proj/link": { link: "../outside/canary.txt" } });
  const w = await startWarden(["--overlay", "--workspace", "rec", "--state-dir", state, "--root", proj, "--audit-log", log]);
  try {
    for (const [name, args] of [
      ["execute_command", { command: "mkdir -p out && cp a.txt out/b.txt" }],
      ["write_file", { path: "c.txt", content: "gamma\n" }],
      ["edit_file", { path: "c.txt", edits: [{ old_text: "gamma", new_text: "delta" }] }],
      ["read_file", { path: "out/b.txt" }],
      ["list_directory", { path: ".", depth: 2 }],
      ["read_file", { path: ".env" }],
      ["read_file", { path: join(dir, "outside", "canary.txt") }],
      ["read_file", { path: "link" }],
      ["execute_command", { command: "cat link ../outside/canary.txt" }],
    ] as const) {
      const r = await w.call(name, args);
      expect(w.text(r)).not.toContain(secret);
    }
  } finally {
    await w.close();
  }
  expect(existsSync(join(proj, "c.txt"))).toBe(false); // the real tree is untouched
  session = warden(["trajectory", "list", "--audit-log", log]).stdout.split("\t")[0]!;
}, 120_000);
afterAll(() => removeDir(dir));

describe("warden trajectory replay", () => {
  it("a deterministic session replays identically: every result digest and the tree hash the same, exit 0", () => {
    const r = replay("--as", "again");
    expect(r.status, r.stdout + r.stderr).toBe(0);
    const report = JSON.parse(r.stdout) as Report;
    expect(report.steps.map((s) => s.status)).toEqual(Array(9).fill("same"));
    // Calls that reached for a file outside the root are refused again, and nothing of it shows.
    expect(r.stdout + readFileSync(join(state, "replays", "again.jsonl"), "utf8")).not.toContain(secret);
    expect(report.tree).toHaveLength(1);
    expect(report.tree[0]!.same).toBe(true);
    expect(existsSync(join(proj, "c.txt"))).toBe(false);
    // Without --workspace: the session's records name the workspace it worked in.
    const text = warden(["trajectory", "replay", session, "--audit-log", log, "--state-dir", state]);
    expect(text.stdout).toMatch(/9 same, 0 different, 0 skipped\n {2}tree: same \(sha256:[0-9a-f]{64}\)/);
  }, 60_000);

  it("a kept content that does not match its recorded digest is not sent: the call is skipped and the tree differs", () => {
    const blobs = join(state, "blobs");
    const saved = new Map(readdirSync(blobs).map((name) => [name, readFileSync(join(blobs, name))]));
    try {
      for (const name of saved.keys()) writeFileSync(join(blobs, name), "forged\n");
      const r = replay();
      expect(r.status).toBe(1);
      const report = JSON.parse(r.stdout) as Report;
      expect(report.steps[1]).toMatchObject({ tool: "write_file", status: "skipped", why: expect.stringMatching(/does not match its digest/) });
      expect(report.tree[0]!.differences).toContain(join(proj, "c.txt"));
    } finally {
      for (const [name, bytes] of saved) writeFileSync(join(blobs, name), bytes);
    }
  }, 60_000);

  it("when the start changed (the real tree edited since), the results and the tree that depend on it differ: exit 1", () => {
    writeFileSync(join(proj, "a.txt"), "ALPHA, edited since\n");
    const r = replay();
    expect(r.status).toBe(1);
    const report = JSON.parse(r.stdout) as Report;
    expect(report.steps.filter((s) => s.status === "different").map((s) => [s.index, s.tool])).toEqual([
      [4, "read_file"],
      [5, "list_directory"],
    ]);
    expect(report.tree[0]!.differences).toEqual([join(proj, "out", "b.txt")]);
  }, 60_000);

  it("bad input: an unknown workspace is a usage error naming where it looked", () => {
    const r = warden(["trajectory", "replay", session, "--audit-log", log, "--workspace", "nope", "--state-dir", state]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/no workspace named nope in .*workspace list --state-dir/);
  });

  it("export --workspace places the workspace's checkpoints among the steps", () => {
    expect(warden(["workspace", "checkpoint", "rec", "--label", "after-run", "--state-dir", state]).status).toBe(0);
    const r = warden(["trajectory", "export", session, "--audit-log", log, "--state-dir", state]);
    expect(r.status, r.stderr).toBe(0);
    const lines = r.stdout.trim().split("\n").map((l) => JSON.parse(l) as { type: string; label?: string; after_step?: number; workspace?: string });
    expect(lines[0]!.workspace).toBe("rec");
    expect(lines.map((l) => l.type)).toEqual(["session", ...Array(9).fill("step"), "checkpoint"]);
    expect(lines[10]).toMatchObject({ label: "after-run", after_step: 9 });
  });
});
