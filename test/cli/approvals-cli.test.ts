import { execFile } from "node:child_process";
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { askPolicy } from "../approvals/support.js";
import { makeTempDir, removeDir } from "../support/tree.js";
import { CLI, startWarden, type WardenClient } from "../support/warden-client.js";

/**
 * `warden serve` over stdio with `--approvals-port` (the operator's door of a stdio server) and
 * `warden approvals list|approve|deny` against it: real processes on both sides.
 */

const TOKEN = "cli-approvals-token-0123456789";
const run = promisify(execFile);

async function warden(args: string[], env: Record<string, string> = { WARDEN_TOKEN: TOKEN }): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await run(process.execPath, [CLI, ...args], { env: { ...process.env, WARDEN_TOKEN: "", ...env } });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

let dir: string;
let root: string;
let policy: string;
let server: WardenClient;
let url: string;

beforeAll(async () => {
  dir = makeTempDir("warden-approvals-cli-");
  root = join(dir, "root");
  policy = join(dir, "policy.json");
  const { mkdirSync } = await import("node:fs");
  mkdirSync(root);
  writeFileSync(policy, JSON.stringify(askPolicy()));
  server = await startWarden(["--root", root, "--policy", policy, "--approvals-port", "0"], { env: { WARDEN_TOKEN: TOKEN } });
  for (let i = 0; i < 100 && !/approvals: (http:\S+)\/api\/v1\/approvals/.test(server.stderr()); i++) await new Promise((r) => setTimeout(r, 50));
  url = /approvals: (http:\S+)\/api\/v1\/approvals/.exec(server.stderr())?.[1] ?? "";
  expect(url, server.stderr()).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
});
afterAll(async () => {
  await server?.close();
  removeDir(dir);
});

/** Polls the queue over HTTP (cheaper than a CLI process per try) until a call waits. */
async function waitListed(): Promise<string> {
  for (let i = 0; i < 200; i++) {
    const list = (await (await fetch(`${url}/api/v1/approvals`, { headers: { authorization: `Bearer ${TOKEN}` } })).json()) as { approvals: { id: string }[] };
    if (list.approvals.length > 0) return list.approvals[0]!.id;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error("nothing queued");
}

describe("warden approvals against a stdio server's --approvals-port", () => {
  test("list shows the waiting call; approve runs it once; a second approve exits 1 naming the conflict", async () => {
    const call = server.call("execute_command", { command: "touch cli-marker" });
    const id = await waitListed();
    const text = await warden(["approvals", "list", "--url", url]);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toMatch(new RegExp(`${id}  pending  execute_command  ask-touch`));
    expect(existsSync(join(root, "cli-marker"))).toBe(false);
    const ok = await warden(["approvals", "approve", id, "--url", url]);
    expect(ok).toMatchObject({ code: 0, stdout: `${id}: approved (execute_command, ask-touch)\n` });
    const result = await call;
    expect(result.isError ?? false, server.text(result)).toBe(false);
    expect(existsSync(join(root, "cli-marker"))).toBe(true);
    const again = await warden(["approvals", "deny", id, "--url", url]);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/409 approval_answered/);
  });

  test("deny: the call is denied naming the rule", async () => {
    const call = server.call("execute_command", { command: "touch cli-denied" });
    const id = await waitListed();
    expect((await warden(["approvals", "deny", id, "--url", url])).code).toBe(0);
    expect(server.text(await call)).toMatch(/not approved \(denied\).*ask-touch/s);
    expect(existsSync(join(root, "cli-denied"))).toBe(false);
  });

  // [args, env, exit code, stderr pattern]
  const BAD: [string[], Record<string, string>, number, RegExp][] = [
    [["approvals", "approve", "0123456789abcdef", "--url", "URL"], { WARDEN_TOKEN: TOKEN }, 1, /404 unknown_approval/],
    [["approvals", "list", "--url", "URL"], { WARDEN_TOKEN: "" }, 2, /bearer token/],
    [["approvals", "list", "--url", "URL"], { WARDEN_TOKEN: "wrong-token-0123456789" }, 1, /401 unauthorized/],
    [["approvals", "list", "--url", "127.0.0.1:1"], { WARDEN_TOKEN: TOKEN }, 2, /base URL/],
    [["approvals", "approve"], { WARDEN_TOKEN: TOKEN }, 2, /missing required argument/],
  ];
  test.each(BAD)("%j (env %j) -> exit %s", async (args, env, code, stderr) => {
    const r = await warden(args.map((a) => (a === "URL" ? url : a)), env);
    expect(r.code, r.stderr).toBe(code);
    expect(r.stderr).toMatch(stderr);
  });

  test("--approvals-port without a token refuses to start, saying how to give one", async () => {
    const r = await warden(["serve", "--root", root, "--policy", policy, "--approvals-port", "0"], { WARDEN_TOKEN: "" });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/--approvals-port needs a bearer token.*--token-file/);
  });
});
