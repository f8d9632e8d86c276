import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AuditRecord } from "../../src/audit/types.js";
import { openWorkspace } from "../../src/workspace/index.js";
import { mountSmallDisk } from "../support/tmpfs.js";
import { makeTempDir, removeDir } from "../support/tree.js";
import { runInside } from "../workspace/helpers.js";
import { postJson, raw, startTestServer, TOKEN, type TestServer } from "./support.js";

// The operator's workspace API over a real server, real overlayfs workspaces and a real audit log.
let server: TestServer;
let dir: string;
let proj: string;
let state: string;
const auth = { authorization: `Bearer ${TOKEN}` };
const get = (path: string, headers: Record<string, string> = auth) => raw(server.url, { path, headers });
const post = (path: string, body: unknown) => postJson(server.url, path, body, auth);
const readLog = (file: string): AuditRecord[] => readFileSync(file, "utf8").trim().split("\n").map((l) => JSON.parse(l) as AuditRecord);

beforeAll(async () => {
  dir = makeTempDir("warden-ws-api-");
  proj = join(dir, "proj");
  state = join(dir, "state");
  mkdirSync(join(proj, "lib"), { recursive: true });
  writeFileSync(join(proj, "a.txt"), "a0\n");
  writeFileSync(join(proj, "lib", "l.txt"), "l0\n");
  execFileSync("git", ["init", "-q", proj]);
  server = await startTestServer({ token: TOKEN, stateDir: state });
  const h = await openWorkspace({ stateDir: state, name: "run1", roots: [proj] });
  try {
    runInside(h, `cd '${proj}'; echo a1 > a.txt; rm lib/l.txt; printf 'new\\n' > n.txt`);
  } finally {
    await h.close();
  }
});
afterAll(async () => {
  await server?.close();
  removeDir(dir);
});

describe("/api/v1/workspaces", () => {
  it("needs the token", async () => {
    expect((await get("/api/v1/workspaces", {})).status).toBe(401);
    expect((await raw(server.url, { method: "POST", path: "/api/v1/workspaces/run1/apply", headers: { "content-type": "application/json" }, body: "{}" })).status).toBe(401);
  });

  it("lists workspaces and describes one", async () => {
    const list = await get("/api/v1/workspaces");
    expect(list.status).toBe(200);
    expect(list.json.state_dir).toBe(state);
    expect(list.json.workspaces.map((w: { name: string; state: string }) => [w.name, w.state])).toEqual([["run1", "closed"]]);
    const one = await get("/api/v1/workspaces/run1");
    expect(one.json).toMatchObject({ name: "run1", roots: [proj], state: "closed", checkpoints: [] });
    expect(one.json.changedEntries).toBeGreaterThan(0);
  });

  it("diffs as JSON, stat and a patch git apply takes", async () => {
    const json = await get("/api/v1/workspaces/run1/diff");
    expect(json.json.roots[0].changes.map((c: { status: string; path: string }) => `${c.status} ${c.path}`)).toEqual(["modified a.txt", "deleted lib/l.txt", "added n.txt"]);
    const stat = await get("/api/v1/workspaces/run1/diff?format=stat");
    expect(stat.headers["content-type"]).toMatch(/^text\/plain/);
    expect(stat.text).toMatch(/3 files changed/);
    const patch = await get("/api/v1/workspaces/run1/diff?format=patch");
    expect(patch.headers["content-type"]).toMatch(/^text\/x-diff/);
    const file = join(dir, "run1.patch");
    writeFileSync(file, patch.text);
    // --check: the patch applies to the real tree as it stands (nothing is changed by the check)
    execFileSync("git", ["apply", "--check", file], { cwd: proj });
  });

  it("checkpoints, forks and resets, each audited with an intent and an outcome", async () => {
    const cp = await post("/api/v1/workspaces/run1/checkpoints", { label: "base" });
    expect(cp.status).toBe(201);
    expect(cp.json.label).toBe("base");
    const fork = await post("/api/v1/workspaces/run1/fork", { new: "run2", from: "base" });
    expect(fork.status).toBe(201);
    expect((await get("/api/v1/workspaces/run2")).json.forkedFrom).toEqual({ name: "run1", label: "base" });
    const reset = await post("/api/v1/workspaces/run2/reset", {});
    expect(reset.json).toEqual({ name: "run2", to: "base" });
    // A checkpoint that does not exist: bad input, audited as an error (an engine's 409 is a denial: live-checkpoint.test.ts).
    const missing = await post("/api/v1/workspaces/run1/fork", { new: "run3", from: "nope" });
    expect(missing.status).toBe(404);
    const ops = readLog(server.auditLog).filter((r) => r.tool.startsWith("api.workspace."));
    expect(ops.map((r) => `${r.tool} ${r.phase} ${r.decision ?? ""}`)).toEqual([
      "api.workspace.checkpoint intent ",
      "api.workspace.checkpoint outcome allow",
      "api.workspace.fork intent ",
      "api.workspace.fork outcome allow",
      "api.workspace.reset intent ",
      "api.workspace.reset outcome allow",
      "api.workspace.fork intent ",
      "api.workspace.fork outcome error",
    ]);
    expect(ops[2]!.args).toEqual({ name: "run1", new: "run2", from: "base" });
  });

  it("applies onto the real tree, and refuses (409, listing paths) when the real tree changed underneath", async () => {
    writeFileSync(join(proj, "a.txt"), "someone else\n");
    const refused = await post("/api/v1/workspaces/run2/apply", {});
    expect(refused.status).toBe(409);
    expect(refused.json.error.conflicts.map((c: { path: string }) => c.path)).toEqual(["a.txt"]);
    expect(readFileSync(join(proj, "a.txt"), "utf8")).toBe("someone else\n");
    expect(readFileSync(join(proj, "lib", "l.txt"), "utf8")).toBe("l0\n");
    const forced = await post("/api/v1/workspaces/run2/apply", { force: true });
    expect(forced.status).toBe(200);
    expect(forced.json.applied).toBe(true);
    expect(readFileSync(join(proj, "a.txt"), "utf8")).toBe("a1\n");
    expect(readFileSync(join(proj, "n.txt"), "utf8")).toBe("new\n");
    const applies = readLog(server.auditLog).filter((r) => r.tool === "api.workspace.apply" && r.phase === "outcome");
    expect(applies.map((r) => `${r.decision} ${r.rule}`)).toEqual(["deny workspace.conflict", "allow allow"]);
  });

  it("refuses to apply (503) and changes nothing when the audit log cannot take the intent", async (ctx) => {
    const disk = mountSmallDisk(join(dir, "disk"));
    if ("skip" in disk) return ctx.skip();
    const full = await startTestServer({ token: TOKEN, stateDir: state }, undefined, { auditLog: join(disk.dir, "audit.jsonl") });
    try {
      const before = execFileSync("git", ["status", "--porcelain"], { cwd: proj, encoding: "utf8" });
      disk.fill();
      const r = await postJson(full.url, "/api/v1/workspaces/run1/apply", { force: true }, auth);
      expect(r.status).toBe(503);
      expect(r.json.error).toMatchObject({ code: "audit_unavailable", rule: "audit.unavailable" });
      expect(r.json.error.message).toMatch(/workspace apply was not carried out/);
      expect(execFileSync("git", ["status", "--porcelain"], { cwd: proj, encoding: "utf8" })).toBe(before);
      expect(readFileSync(join(proj, "a.txt"), "utf8")).toBe("a1\n");
      expect((await get("/api/v1/workspaces/run1")).json.applied).toBeUndefined();
    } finally {
      disk.free();
      await full.close();
      disk.unmount();
    }
  });

  it("discards", async () => {
    const del = await raw(server.url, { method: "DELETE", path: "/api/v1/workspaces/run2", headers: auth });
    expect(del.status, `${del.text} ${server.logs.join("\n")}`).toBe(200);
    expect((await get("/api/v1/workspaces/run2")).status).toBe(404);
  });

  it("bad input gets a clear error and changes nothing", async () => {
    const cases: Array<[Promise<{ status: number; json: any }>, number, RegExp]> = [ // eslint-disable-line @typescript-eslint/no-explicit-any
      [get("/api/v1/workspaces/nope"), 404, /no workspace named nope/],
      [get("/api/v1/workspaces/nope/diff"), 404, /no workspace named nope/],
      [post("/api/v1/workspaces/nope/apply", {}), 404, /no workspace named nope/],
      [get("/api/v1/workspaces/..%2Fetc"), 400, /invalid workspace name/],
      [get("/api/v1/workspaces/run1/diff?format=html"), 400, /format must be one of json, stat, patch/],
      [get(`/api/v1/workspaces/run1/diff?root=${encodeURIComponent("/elsewhere")}`), 400, /has no root \/elsewhere/],
      [post("/api/v1/workspaces/run1/reset", { to: "never" }), 404, /no checkpoint labelled never/],
      [post("/api/v1/workspaces/run1/checkpoints", { label: "base" }), 400, /already has a checkpoint labelled base/],
      [post("/api/v1/workspaces/run1/fork", { from: "base" }), 400, /new: /],
      [post("/api/v1/workspaces/run1/apply", { force: "yes" }), 400, /force: /],
      [post("/api/v1/workspaces/run1/fork", { new: "run1" }), 400, /already exists/],
    ];
    const before = (await get("/api/v1/workspaces/run1")).json;
    for (const [pending, status, message] of cases) {
      const r = await pending;
      expect(r.status).toBe(status);
      expect(r.json.error.message).toMatch(message);
    }
    expect((await get("/api/v1/workspaces/run1")).json).toEqual(before);
    expect((await get("/api/v1/workspaces")).json.workspaces.map((w: { name: string }) => w.name)).toEqual(["run1"]);
  });

  it("is described in the OpenAPI document", async () => {
    const doc = (await get("/api/v1/openapi.json")).json;
    expect(Object.keys(doc.paths).filter((p: string) => p.startsWith("/api/v1/workspaces"))).toEqual([
      "/api/v1/workspaces",
      "/api/v1/workspaces/{name}",
      "/api/v1/workspaces/{name}/diff",
      "/api/v1/workspaces/{name}/apply",
      "/api/v1/workspaces/{name}/checkpoints",
      "/api/v1/workspaces/{name}/fork",
      "/api/v1/workspaces/{name}/reset",
    ]);
  });
});
