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

const records = () =>
  readFileSync(log, "utf8")
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { tool: string; decision: string; rule: string; seq: number; args: Record<string, unknown>; session?: string });

it("records every call with its decision and rule, and survives kill -9 intact", async () => {
  const calls: [string, Record<string, unknown>, "allow" | "deny" | "error"][] = [
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
  for (const [tool, args] of calls) await w.call(tool, args);
  const got = records();
  expect(got.map((r) => [r.tool, r.decision])).toEqual(calls.map(([tool, , d]) => [tool, d]));
  expect(got.find((r) => r.tool === "read_file" && r.decision === "deny")?.rule).toContain("filesystem.deny");
  // Every record, file tool or command, names its transport, client and session (one session here).
  const session = got[0]!.session;
  expect(session).toMatch(/^[0-9a-f-]{36}$/);
  for (const r of got) expect(r, r.tool).toMatchObject({ transport: "stdio", client: "warden-test/1.0.0", session });
  expect(got.filter((r) => r.tool === "execute_command" && r.decision === "deny")[0]?.rule).toMatch(/^commands\./);
  // Neither file content nor secret-looking values reach the log.
  expect(readFileSync(log, "utf8")).not.toContain(`content ${secret}`);
  expect(readFileSync(log, "utf8")).not.toContain(`TOKEN=${secret}`);
  expect(JSON.stringify(got.find((r) => r.tool === "execute_command" && r.decision === "deny" && r.args.env))).not.toContain(secret);

  const pid = w.pid();
  expect(pid).toBeGreaterThan(0);
  process.kill(pid!, "SIGKILL");
  await new Promise((r) => setTimeout(r, 200));
  const after = records();
  expect(after).toHaveLength(calls.length);
  expect(after.map((r) => r.seq)).toEqual(after.map((_, i) => after[0]!.seq + i));
  const verify = spawnSync(process.execPath, [CLI, "audit", "verify", log], { encoding: "utf8" });
  expect(verify.stdout + verify.stderr).toContain(`ok: ${calls.length} records`);
  expect(verify.status).toBe(0);
});
