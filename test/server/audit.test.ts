import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { CLI, startWarden, type WardenClient } from "../support/warden-client.js";
import { canary, makeTempDir, removeDir, writeTree } from "../support/tree.js";

/**
 * The audit log of the real server: one chained record per tool call (file tools and commands,
 * allowed and denied), no secret or file content in it, and every completed call still there and
 * verifiable after `kill -9` of the server.
 */
let base: string;
let log: string;
let w: WardenClient;
const secret = canary("AUDIT");

beforeAll(async () => {
  base = makeTempDir("warden-audit-srv-");
  log = join(base, "audit.jsonl");
  writeTree(base, { "root/a.txt": "hello\n", "root/.env": `TOKEN=${secret}\n` });
  w = await startWarden(["--root", join(base, "root"), "--audit-log", log, "--allow", "echo"]);
});
afterAll(async () => {
  await w?.close().catch(() => {});
  removeDir(base);
});

type Rec = { tool: string; decision?: string; rule: string; seq: number; id?: string; phase?: string; args?: Record<string, unknown>; session?: string; transport?: string; client?: string };
const records = () =>
  readFileSync(log, "utf8")
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Rec);
/** One entry per call: its single record, or its outcome (whose intent holds the args). */
const calls = (rs: Rec[]) => rs.filter((r) => r.phase !== "intent").map((r) => (r.phase === "outcome" ? { ...rs.find((i) => i.phase === "intent" && i.id === r.id)!, ...r } : r));

it("records every call with its decision and rule, and survives kill -9 intact", async () => {
  const made: [string, Record<string, unknown>, "allow" | "deny" | "error"][] = [
    ["read_file", { path: "a.txt" }, "allow"],
    ["read_file", { path: ".env" }, "deny"],
    ["read_file", { path: "/etc/passwd" }, "deny"],
    ["read_file", { path: "missing.txt" }, "error"],
    ["write_file", { path: "b.txt", content: `content ${secret}` }, "allow"],
    ["list_directory", { path: "." }, "allow"],
    ["execute_command", { command: `echo ${secret}` }, "allow"],
    ["execute_command", { command: "curl http://127.0.0.1:9/" }, "deny"],
    ["execute_command", { command: "echo hi", env: { GITHUB_TOKEN: secret } }, "deny"],
  ];
  for (const [tool, args] of made) await w.call(tool, args);
  const all = records();
  const got = calls(all);
  expect(got.map((r) => [r.tool, r.decision])).toEqual(made.map(([tool, , d]) => [tool, d]));
  // What changes something is recorded before (intent, no decision yet) and after, linked by id.
  const intents = all.filter((r) => r.phase === "intent");
  expect(intents.map((r) => r.tool)).toEqual(["write_file", "execute_command"]);
  for (const intent of intents) {
    expect(intent.decision).toBeUndefined();
    const outcome = all.find((r) => r.phase === "outcome" && r.id === intent.id)!;
    expect(outcome.seq).toBeGreaterThan(intent.seq);
  }
  expect(got.find((r) => r.tool === "read_file" && r.decision === "deny")?.rule).toContain("filesystem.deny");
  // Every record, file tool or command, names its transport, client and session (one session here).
  const session = got[0]!.session;
  expect(session).toMatch(/^[0-9a-f-]{36}$/);
  for (const r of got) expect(r, r.tool).toMatchObject({ transport: "stdio", client: "warden-test/1.0.0", session });
  expect(got.filter((r) => r.tool === "execute_command" && r.decision === "deny")[0]?.rule).toMatch(/^commands\./);
  // Neither file content nor secret-looking values reach the log.
  expect(readFileSync(log, "utf8")).not.toContain(`content ${secret}`);
  expect(readFileSync(log, "utf8")).not.toContain(`TOKEN=${secret}`);
  expect(JSON.stringify(got.find((r) => r.tool === "execute_command" && r.decision === "deny" && r.args?.env))).not.toContain(secret);

  const pid = w.pid();
  expect(pid).toBeGreaterThan(0);
  process.kill(pid!, "SIGKILL");
  await new Promise((r) => setTimeout(r, 200));
  const after = records();
  expect(after).toHaveLength(made.length + 2);
  expect(after.map((r) => r.seq)).toEqual(after.map((_, i) => after[0]!.seq + i));
  const verify = spawnSync(process.execPath, [CLI, "audit", "verify", log], { encoding: "utf8" });
  expect(verify.stdout + verify.stderr).toBe(`ok: ${made.length + 2} records\n`);
  expect(verify.status).toBe(0);
});

it("kill -9 in the middle of a command: the log verifies, naming the command's intent without an outcome; a restart continues it", async () => {
  const dir = makeTempDir("warden-audit-kill-");
  const file = join(dir, "log", "audit.jsonl");
  writeTree(dir, { "root/a.txt": "a\n" });
  const server = await startWarden(["--root", join(dir, "root"), "--audit-log", file, "--allow", "sleep"]);
  try {
    await server.call("read_file", { path: "a.txt" });
    const running = server.call("execute_command", { command: "sleep 30" }).catch(() => undefined);
    for (let i = 0; i < 100 && !readFileSync(file, "utf8").includes('"phase":"intent"'); i++) await new Promise((r) => setTimeout(r, 20));
    process.kill(server.pid()!, "SIGKILL");
    await running;
    const verify = spawnSync(process.execPath, [CLI, "audit", "verify", "--json", file], { encoding: "utf8" });
    expect(verify.status).toBe(0);
    expect(JSON.parse(verify.stdout)).toMatchObject({ ok: true, records: 2, open_intents: [{ seq: 2, tool: "execute_command" }] });
    const again = await startWarden(["--root", join(dir, "root"), "--audit-log", file]);
    expect(again.text(await again.call("read_file", { path: "a.txt" }))).toContain("a");
    await again.close();
    expect(JSON.parse(spawnSync(process.execPath, [CLI, "audit", "verify", "--json", file], { encoding: "utf8" }).stdout)).toMatchObject({ ok: true, records: 3 });
  } finally {
    await server.close().catch(() => {});
    removeDir(dir);
  }
});
