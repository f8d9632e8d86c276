import { spawnSync } from "node:child_process";
import { existsSync, lstatSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { checkpointWorkspace, diffWorkspace, forkWorkspace, gitPatch, resetWorkspace } from "../../src/workspace/index.js";
import { readManifest } from "../../src/workspace/manifest.js";
import { startWardenHttp, type WardenHttpProcess } from "../e2e/support/warden-process.js";
import { connectMcp, postJson, raw, textOf, TOKEN, type HttpMcpClient } from "../http/support.js";
import { requireBinary } from "../support/engines/require-binary.js";
import { canary, makeTempDir, removeDir, treeDigest, writeTree } from "../support/tree.js";
import { CLI, startWarden } from "../support/warden-client.js";

/**
 * A live checkpoint (POST /api/v1/workspaces/NAME/checkpoints on the server holding the workspace):
 * real `serve --overlay --http`, real overlayfs (and fuse-overlayfs, and the copy driver), real
 * bubblewrap. The checkpoint is a copy of the upper kept beside the stack: a file made before it and
 * removed after must not come back in the live state, and must come back on `reset --to` it.
 */
let base: string;
const auth = { authorization: `Bearer ${TOKEN}` };
const cli = (args: string[]) => spawnSync(process.execPath, [CLI, ...args], { encoding: "utf8", timeout: 120_000 });
const ok = async (c: HttpMcpClient, name: string, args: Record<string, unknown>) => {
  const r = await c.call(name, args);
  expect(r.isError, textOf(r)).toBeFalsy();
  return r;
};
/** The workspace's changes as `status path` lines, and its patch (for contents): the engine `warden workspace diff` runs. */
const changes = (stateDir: string, name: string) => diffWorkspace({ stateDir, name }).roots[0]!.changes.map((c) => `${c.status} ${c.path}`).sort();
const patch = (stateDir: string, name: string) => String(gitPatch(diffWorkspace({ stateDir, name }).roots[0]!.changes).patch);
/** Regular files under `dir` (never following a link) whose bytes hold `text`. */
const filesHolding = (dir: string, text: string): string[] =>
  readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((d) => d.isFile())
    .map((d) => join(d.parentPath, d.name))
    .filter((f) => readFileSync(f).includes(text));
const layerDirs = (state: string, name: string) => readdirSync(join(state, "workspaces", name, "roots", "0", "layers")).sort();

beforeAll(() => {
  requireBinary("bwrap", "bubblewrap");
  base = makeTempDir("warden-live-cp-");
});
afterAll(() => removeDir(base));

describe("live checkpoint over HTTP", () => {
  let warden: WardenHttpProcess | undefined;
  afterAll(async () => {
    await warden?.stop();
  });

  it("kernel overlayfs: snapshot beside the stack, refused while a command runs, forked live, reset to, in the trajectory", async () => {
    const root = join(base, "kernel", "proj");
    const state = join(base, "kernel", "state");
    const log = join(base, "kernel", "logs", "audit.jsonl");
    const secret = canary();
    const outside = join(base, "kernel", "outside", "canary.txt");
    writeTree(join(base, "kernel"), { "proj/a.txt": "a0\n", "proj/keep.txt": "real\n", "proj/link": { link: outside }, "outside/canary.txt": `${secret}\n`, "logs/.keep": "" });
    const real = treeDigest(root);
    warden = await startWardenHttp(["--root", root, "--overlay", "--workspace", "live", "--state-dir", state, "--audit-log", log], { WARDEN_TOKEN: TOKEN });
    const c = await connectMcp(warden.url, TOKEN);
    const session = c.transport.sessionId!;
    try {
      await ok(c, "write_file", { path: "a.txt", content: "a v1\n" });
      await ok(c, "write_file", { path: "b.txt", content: "b made before\n" });
      // A symlink to a canary outside the root, copied into the upper: the checkpoint copies the link, never what it names.
      await ok(c, "execute_command", { command: "cp -a link copied-link" });

      // A background command runs: refused (409), nothing copied.
      const layers = layerDirs(state, "live");
      const bg = await ok(c, "execute_command", { command: "sleep 60", background: true });
      const refused = await postJson(warden.url, "/api/v1/workspaces/live/checkpoints", { label: "v1" }, auth);
      expect(refused.status).toBe(409);
      expect(refused.json.error.message).toMatch(/1 command\(s\) or background process\(es\) run in it.*nothing was copied/);
      expect(layerDirs(state, "live")).toEqual(layers);
      expect(readManifest(join(state, "workspaces", "live")).snapshots ?? []).toEqual([]);
      await ok(c, "kill_process", { handle: (bg.structuredContent as { handle: string }).handle, signal: "SIGKILL" });

      const cp = await postJson(warden.url, "/api/v1/workspaces/live/checkpoints", { label: "v1" }, auth);
      expect(cp.status, JSON.stringify(cp.json)).toBe(201);
      expect(cp.json).toMatchObject({ name: "live", label: "v1", live: true });
      const snapDir = join(state, "workspaces", "live", "roots", "0", "layers", cp.json.id);
      expect(lstatSync(join(snapDir, "copied-link")).isSymbolicLink()).toBe(true);
      expect(filesHolding(state, secret)).toEqual([]);

      await ok(c, "write_file", { path: "a.txt", content: "a v2\n" });
      await ok(c, "execute_command", { command: "rm b.txt" });
      await ok(c, "write_file", { path: "c.txt", content: "c made after\n" });

      // `warden workspace checkpoint` cannot checkpoint it (live), and says where to.
      expect(() => checkpointWorkspace({ stateDir: state, name: "live" })).toThrow(`opened by server pid ${warden.child.pid}); take a live checkpoint through the server holding it: POST ${warden.url}/api/v1/workspaces/live/checkpoints`);
      // list/GET show it, beside the stack.
      const one = await raw(warden.url, { path: "/api/v1/workspaces/live", headers: auth });
      expect(one.json.checkpoints).toEqual([expect.objectContaining({ label: "v1", live: true, base: 0 })]);
      // A fork from it while live sees the checkpoint's state.
      forkWorkspace({ stateDir: state, name: "live", newName: "f1", from: "v1" });
      expect(changes(state, "f1")).toEqual(["added b.txt", "added copied-link", "modified a.txt"]);
      expect(patch(state, "f1")).toContain("+a v1");
    } finally {
      await c.close();
      await warden.stop();
      warden = undefined;
    }
    expect(treeDigest(root)).toBe(real);

    // The live state went on from the checkpoint: b.txt (made before it, removed after) stays gone.
    expect(changes(state, "live")).toEqual(["added c.txt", "added copied-link", "modified a.txt"]);
    expect(patch(state, "live")).toContain("+a v2");
    // A fork of the current state carries the live checkpoint: it resets to it as the source does.
    forkWorkspace({ stateDir: state, name: "live", newName: "f2" });
    expect(changes(state, "f2")).toEqual(["added c.txt", "added copied-link", "modified a.txt"]);
    expect(resetWorkspace({ stateDir: state, name: "f2", to: "v1" })).toEqual({ to: "v1" });
    expect(changes(state, "f2")).toEqual(["added b.txt", "added copied-link", "modified a.txt"]);
    expect(resetWorkspace({ stateDir: state, name: "live", to: "v1" })).toEqual({ to: "v1" });
    expect(changes(state, "live")).toEqual(["added b.txt", "added copied-link", "modified a.txt"]);
    expect(readFileSync(outside, "utf8")).toBe(`${secret}\n`);
    expect(patch(state, "live")).toContain("+a v1");
    expect(treeDigest(root)).toBe(real);

    // The trajectory: the checkpoint after the writes before it, before the ones after it.
    const out = cli(["trajectory", "export", session, "--format", "jsonl", "--audit-log", log, "--state-dir", state]);
    expect(out.status, out.stderr).toBe(0);
    const lines = out.stdout.trim().split("\n").map((l) => JSON.parse(l) as { type: string; tool?: string; label?: string; args?: { path?: string; command?: string } });
    const seq = lines.filter((l) => l.type !== "session").map((l) => (l.type === "checkpoint" ? `checkpoint ${l.label}` : `${l.tool} ${l.args?.path ?? l.args?.command ?? ""}`.trim()));
    expect(seq).toEqual(["write_file a.txt", "write_file b.txt", "execute_command cp -a link copied-link", "execute_command sleep 60", "kill_process", "checkpoint v1", "write_file a.txt", "execute_command rm b.txt", "write_file c.txt"]);
    const audit = readFileSync(log, "utf8").trim().split("\n").map((l) => JSON.parse(l) as { tool: string; phase?: string; decision?: string; args?: { live?: boolean } });
    expect(audit.filter((r) => r.tool === "api.workspace.checkpoint").map((r) => `${r.phase} ${r.decision ?? `live=${r.args?.live}`}`)).toEqual([
      "intent live=true",
      "outcome deny",
      "intent live=true",
      "outcome allow",
    ]);
  });

  it("--workspace-per-session: each session's workspace has its own gate; the server's own is checkpointed while a session's command runs", async () => {
    const home = join(base, "per-session");
    const root = join(home, "proj");
    const state = join(home, "state");
    writeTree(home, { "proj/a.txt": "a0\n" });
    warden = await startWardenHttp(["--root", root, "--workspace-per-session", "--workspace", "eval", "--state-dir", state], { WARDEN_TOKEN: TOKEN });
    const c = await connectMcp(warden.url, TOKEN);
    try {
      const name = ((await ok(c, "get_system_info", {})).structuredContent as { workspace: { name: string } }).workspace.name;
      await ok(c, "write_file", { path: "a.txt", content: "session\n" });
      const bg = await ok(c, "execute_command", { command: "sleep 60", background: true });
      expect((await postJson(warden.url, `/api/v1/workspaces/${name}/checkpoints`, { label: "s" }, auth)).status).toBe(409);
      const own = await postJson(warden.url, "/api/v1/workspaces/eval/checkpoints", { label: "e" }, auth);
      expect(own.status, JSON.stringify(own.json)).toBe(201);
      expect(own.json.live).toBe(true);
      await ok(c, "kill_process", { handle: (bg.structuredContent as { handle: string }).handle, signal: "SIGKILL" });
      const cp = await postJson(warden.url, `/api/v1/workspaces/${name}/checkpoints`, { label: "s" }, auth);
      expect(cp.status, JSON.stringify(cp.json)).toBe(201);
      await ok(c, "write_file", { path: "a.txt", content: "after\n" });
      forkWorkspace({ stateDir: state, name, newName: "from-s", from: "s" });
      expect(patch(state, "from-s")).toContain("+session");
    } finally {
      await c.close();
      await warden.stop();
      warden = undefined;
    }
  });

  for (const driver of ["fuse", "copy"] as const) {
    it(`--overlay-driver ${driver}: the live checkpoint keeps the driver's layer format`, async (ctx) => {
      if (driver === "fuse" && spawnSync("sh", ["-c", "command -v fuse-overlayfs"]).status !== 0) return ctx.skip();
      const home = join(base, driver);
      const root = join(home, "proj");
      const state = join(home, "state");
      const log = join(home, "logs", "audit.jsonl");
      writeTree(home, { "proj/a.txt": "a0\n", "proj/gone.txt": "real\n", "logs/.keep": "" });
      const real = treeDigest(root);
      warden = await startWardenHttp(["--root", root, "--overlay", "--overlay-driver", driver, "--workspace", "w", "--state-dir", state, "--audit-log", log], { WARDEN_TOKEN: TOKEN });
      const c = await connectMcp(warden.url, TOKEN);
      try {
        await ok(c, "write_file", { path: "b.txt", content: "b\n" });
        await ok(c, "execute_command", { command: "rm gone.txt" });
        expect((await postJson(warden.url, "/api/v1/workspaces/w/checkpoints", { label: "cp" }, auth)).status).toBe(201);
        await ok(c, "execute_command", { command: "rm b.txt && echo a1 > a.txt" });
        // Writes racing a checkpoint: each is wholly in it or wholly after it, and its record says which.
        const racing = [0, 1, 2, 3, 4, 5].map((i) => ok(c, "write_file", { path: `w${i}.txt`, content: `${i}\n` }));
        const race = postJson(warden.url, "/api/v1/workspaces/w/checkpoints", { label: "race" }, auth);
        await Promise.all(racing);
        expect((await race).status).toBe(201);
      } finally {
        await c.close();
        await warden.stop();
        warden = undefined;
      }
      const snap = readManifest(join(state, "workspaces", "w")).snapshots!.find((x) => x.label === "race")!;
      const copied = readdirSync(join(state, "workspaces", "w", "roots", "0", "layers", snap.id)).filter((n) => /^w\d\.txt$/.test(n));
      const intents = readFileSync(log, "utf8").trim().split("\n").map((l) => JSON.parse(l) as { tool: string; phase?: string; time: string; args: { path?: string } });
      const before = intents.filter((r) => r.tool === "write_file" && r.phase === "intent" && /^w\d/.test(r.args.path ?? "") && r.time <= snap.created).map((r) => r.args.path);
      expect(copied.sort()).toEqual(before.sort());
      for (const n of copied) expect(readFileSync(join(state, "workspaces", "w", "roots", "0", "layers", snap.id, n), "utf8")).toBe(`${n[1]}\n`);
      expect(changes(state, "w")).toEqual(["deleted gone.txt", "modified a.txt", ...[0, 1, 2, 3, 4, 5].map((i) => `added w${i}.txt`)].sort());
      forkWorkspace({ stateDir: state, name: "w", newName: "w2" });
      resetWorkspace({ stateDir: state, name: "w2", to: "cp" });
      expect(changes(state, "w2")).toEqual(["added b.txt", "deleted gone.txt"]);
      resetWorkspace({ stateDir: state, name: "w", to: "cp" });
      expect(changes(state, "w")).toEqual(["added b.txt", "deleted gone.txt"]);
      expect(treeDigest(root)).toBe(real);
    });
  }

  it("stdio server: `warden workspace checkpoint` on its live workspace goes through the control socket (refused while a command runs, bad label, audited)", async () => {
    const home = join(base, "stdio");
    const root = join(home, "proj");
    const state = join(home, "state");
    const log = join(home, "logs", "audit.jsonl");
    writeTree(home, { "proj/a.txt": "a0\n", "logs/.keep": "" });
    const real = treeDigest(root);
    const w = await startWarden(["--root", root, "--overlay", "--workspace", "sw", "--state-dir", state, "--audit-log", log, "--allow", "sleep", "--allow", "python3"]);
    const call = async (name: string, args: Record<string, unknown>) => {
      const r = await w.call(name, args);
      expect(r.isError, w.text(r)).toBeFalsy();
      return r;
    };
    try {
      const sock = join(state, "workspaces", "sw", "control.sock");
      expect(lstatSync(sock).isSocket()).toBe(true);
      expect(lstatSync(sock).mode & 0o777).toBe(0o600);
      await call("write_file", { path: "a.txt", content: "a v1\n" });
      const taken = cli(["workspace", "checkpoint", "sw", "--label", "mid", "--state-dir", state]);
      expect(taken.status, taken.stderr).toBe(0);
      expect(taken.stdout).toBe("checkpoint mid of sw (live: a copy of its changes, taken by the server holding it)\n");
      await call("write_file", { path: "a.txt", content: "a v2\n" });

      const bg = await call("execute_command", { command: "sleep 60", background: true });
      const busy = cli(["workspace", "checkpoint", "sw", "--label", "busy", "--state-dir", state]);
      expect(busy.status).toBe(1);
      expect(busy.stderr).toMatch(/cannot checkpoint workspace sw: .*1 command\(s\) or background process\(es\) run in it.*nothing was copied/);
      await call("kill_process", { handle: (bg.structuredContent as { handle: string }).handle, signal: "SIGKILL" });
      const bad = cli(["workspace", "checkpoint", "sw", "--label", "no good", "--state-dir", state]);
      expect(bad.status).toBe(2);
      expect(bad.stderr).toMatch(/cannot checkpoint workspace sw: .*label/);
      // The server still serves after a request that is not one.
      const junk = spawnSync("python3", ["-c", `import socket\ns = socket.socket(socket.AF_UNIX)\ns.connect(${JSON.stringify(sock)})\ns.sendall(b"nonsense\\n")\nprint(s.recv(4096).decode())`], { encoding: "utf8" });
      expect(JSON.parse(junk.stdout)).toMatchObject({ ok: false, code: "invalid_request" });
      expect(w.text(await call("read_file", { path: "a.txt" }))).toContain("a v2");
      // The agent cannot reach it: commands do not see the state dir (the socket's path is not there).
      const reach = await w.call("execute_command", { command: `python3 -c 'import socket; s = socket.socket(socket.AF_UNIX); s.connect(${JSON.stringify(sock)}); print("CONNECTED")'` });
      expect(w.text(reach)).toMatch(/FileNotFoundError/);
      expect(w.text(reach)).not.toContain("CONNECTED");
    } finally {
      await w.close();
    }
    expect(existsSync(join(state, "workspaces", "sw", "control.sock"))).toBe(false);
    const records = readFileSync(log, "utf8").trim().split("\n").map((l) => JSON.parse(l) as { tool: string; phase?: string; decision?: string; rule?: string; client?: string; args?: { label?: string } });
    expect(records.filter((r) => r.tool === "api.workspace.checkpoint").map((r) => (r.phase === "intent" ? `intent ${r.client} ${r.args?.label}` : `${r.decision} ${r.rule}`))).toEqual([
      "intent control-socket mid",
      "allow allow",
      "intent control-socket busy",
      "deny workspace.refused",
      "intent control-socket no good",
      "error workspace.invalid_request",
    ]);
    resetWorkspace({ stateDir: state, name: "sw", to: "mid" });
    expect(patch(state, "sw")).toContain("+a v1");
    expect(treeDigest(root)).toBe(real);
  });

  it("--overlay-driver copy: the server answers other requests while a live checkpoint copies the tree", async () => {
    const home = join(base, "copy-busy");
    const root = join(home, "proj");
    const state = join(home, "state");
    writeTree(home, Object.fromEntries(Array.from({ length: 4000 }, (_, i) => [`proj/d${i % 40}/f${i}.txt`, `${i}\n`])));
    warden = await startWardenHttp(["--root", root, "--overlay", "--overlay-driver", "copy", "--workspace", "w", "--state-dir", state], { WARDEN_TOKEN: TOKEN });
    try {
      const layers = join(state, "workspaces", "w", "roots", "0", "layers");
      const before = new Set(readdirSync(layers));
      const order: string[] = [];
      const checkpoint = postJson(warden.url, "/api/v1/workspaces/w/checkpoints", { label: "busy" }, auth).then((r) => (order.push("checkpoint"), r));
      // Once the snapshot's layer exists its copy (the whole tree, for this driver) is under way: ask for /health then.
      while (!readdirSync(layers).some((n) => !before.has(n)) && order.length === 0) await new Promise((r) => setTimeout(r, 2));
      const health = raw(warden.url, { path: "/health" }).then((r) => (order.push("health"), r));
      expect((await health).status).toBe(200);
      expect((await checkpoint).status).toBe(201);
      // A copy that held the event loop (spawnSync) answered /health only after the checkpoint.
      expect(order).toEqual(["health", "checkpoint"]);
    } finally {
      await warden.stop();
      warden = undefined;
    }
  });
});
