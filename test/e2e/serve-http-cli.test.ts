import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeTempDir, removeDir } from "../support/tree.js";
import { startWardenHttp } from "./support/warden-process.js";

/** `warden serve --http` as a process: token from WARDEN_TOKEN, SIGTERM drains running calls. */

const TOKEN = "cli-token-0123456789abcdef";
let dir: string;
let policy: string;
beforeAll(() => {
  dir = makeTempDir("warden-cli-http-");
  policy = join(dir, "..", `${dir.split("/").pop()}-policy.json`);
  writeFileSync(policy, JSON.stringify({ commands: { allow: [{ program: "echo" }, { program: "sleep" }] } }));
});
afterAll(() => {
  removeDir(dir);
  removeDir(policy);
});

describe("warden serve --http (CLI)", () => {
  it("the start-up line lists the roots like the stdio one", async () => {
    const warden = await startWardenHttp(["--root", dir, "--policy", policy], { WARDEN_TOKEN: TOKEN });
    try {
      expect(warden.stderr()).toContain(`roots: ${dir} (read-write, --root); client roots can only narrow them`);
    } finally {
      await warden.stop();
    }
  });

  it("on SIGTERM lets a running call finish, answers 503 meanwhile, then exits 143", async () => {
    const warden = await startWardenHttp(["--root", dir, "--policy", policy], { WARDEN_TOKEN: TOKEN });
    const auth = { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" };
    const running = fetch(`${warden.url}/api/v1/execute`, { method: "POST", headers: auth, body: JSON.stringify({ command: "sleep 2; echo done" }) });
    await new Promise((r) => setTimeout(r, 500));
    warden.child.kill("SIGTERM");
    await new Promise((r) => setTimeout(r, 300));
    const health = await fetch(`${warden.url}/health`).catch((e: Error) => e);
    if (!(health instanceof Error)) expect(health.status).toBe(503);
    const res = await running;
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ exit_code: 0, stdout: "done\n" });
    expect(await warden.stop()).toBe(143);
    expect(warden.stderr()).toMatch(/shutting down/);
  });

  it("/api/v1/workspaces serves --state-dir's workspaces, and with --overlay the server's own one, live", async () => {
    const state = join(dir, "..", `${dir.split("/").pop()}-state`);
    const auth = { authorization: `Bearer ${TOKEN}` };
    try {
      const plain = await startWardenHttp(["--root", dir, "--policy", policy, "--state-dir", state], { WARDEN_TOKEN: TOKEN });
      try {
        expect(await (await fetch(`${plain.url}/api/v1/workspaces`, { headers: auth })).json()).toEqual({ state_dir: state, workspaces: [] });
      } finally {
        await plain.stop();
      }
      const overlay = await startWardenHttp(["--root", dir, "--policy", policy, "--overlay", "--workspace", "cli-ws", "--state-dir", state], { WARDEN_TOKEN: TOKEN });
      try {
        const list = (await (await fetch(`${overlay.url}/api/v1/workspaces`, { headers: auth })).json()) as { state_dir: string; workspaces: { name: string; state: string }[] };
        expect(list.state_dir).toBe(state);
        expect(list.workspaces.map((w) => [w.name, w.state])).toEqual([["cli-ws", "live"]]);
      } finally {
        await overlay.stop();
      }
    } finally {
      removeDir(state);
    }
  });
});
