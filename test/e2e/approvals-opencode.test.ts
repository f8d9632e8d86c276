import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startFakeModel } from "../support/fake-model-server.js";
import { makeTempDir, removeDir, writeTree } from "../support/tree.js";
import { runOpencode } from "./support/opencode.js";
import { requireBuild, startWardenHttp, type WardenHttpProcess } from "./support/warden-process.js";

/**
 * OpenCode 1.18 cannot answer elicitation, so a call an ask rule matches waits in warden's
 * operator queue; the test is the operator (REST, token). The marker must not exist while the
 * call waits, and must exist only after an approve.
 */

const TOKEN = "e2e-approvals-token-0123456789";
const AUTH = { authorization: `Bearer ${TOKEN}` };

let base: string;
let project: string;
let warden: WardenHttpProcess;

beforeAll(async () => {
  requireBuild();
  base = makeTempDir("warden-e2e-approvals-");
  project = join(base, "project");
  writeTree(project, { "hello.txt": "hi\n" });
  const policy = join(base, "policy.json");
  writeFileSync(policy, JSON.stringify({ commands: { allow: [{ program: "echo" }], ask: [{ program: "touch", name: "ask-touch" }] }, execution: { timeout_s: 30 } }));
  warden = await startWardenHttp(["--root", project, "--policy", policy], { WARDEN_TOKEN: TOKEN });
});
afterAll(async () => {
  await warden?.stop();
  removeDir(base);
});

/** Waits until one call is queued; checks the marker is absent meanwhile; then answers. */
async function answerWhenQueued(decision: "approve" | "deny", marker: string): Promise<{ id: string; absentWhilePending: boolean }> {
  for (let i = 0; i < 1200; i++) {
    const list = (await (await fetch(`${warden.url}/api/v1/approvals`, { headers: AUTH })).json()) as { approvals: { id: string; rule: string }[] };
    const a = list.approvals[0];
    if (a) {
      const absentWhilePending = !existsSync(join(project, marker));
      const r = await fetch(`${warden.url}/api/v1/approvals/${a.id}`, { method: "POST", headers: { ...AUTH, "content-type": "application/json" }, body: JSON.stringify({ decision }) });
      expect(r.status).toBe(200);
      return { id: a.id, absentWhilePending };
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`nothing reached the queue:\n${warden.stderr()}`);
}

describe("OpenCode (no elicitation) and the operator queue", () => {
  for (const decision of ["approve", "deny"] as const) {
    it(`the call waits in the queue and ${decision === "approve" ? "runs after an approve" : "is denied after a deny"}`, async () => {
      const marker = `oc-${decision}`;
      const model = await startFakeModel([{ tool: "warden_execute_command", args: { command: `touch ${marker} && echo ran-${decision}` } }]);
      try {
        const mcp = { warden: { type: "remote", url: `${warden.url}/mcp`, enabled: true, oauth: false, headers: { Authorization: `Bearer ${TOKEN}` } } };
        const running = runOpencode({ cwd: project, home: join(base, `home-${decision}`), baseURL: model.baseURL, mcp, prompt: "touch it", timeoutMs: 120_000 });
        // If OpenCode ends before anything is queued, fail now with its output rather than poll on.
        const ended = running.then((r) => Promise.reject(new Error(`opencode ended before the call was queued (exit ${r.code}):\n${r.stderr}\n${r.stdout}`)));
        ended.catch(() => {}); // handled by the race below; later it is moot
        const answered = await Promise.race([answerWhenQueued(decision, marker), ended]);
        const run = await running;
        const diag = `opencode exit ${run.code}\n${run.stderr}\n${run.stdout}\nwarden:\n${warden.stderr()}`;
        expect(answered.absentWhilePending, diag).toBe(true);
        const results = model.toolResults();
        expect(results, diag).toHaveLength(1);
        if (decision === "approve") {
          expect(results[0], diag).toContain("ran-approve");
          expect(existsSync(join(project, marker))).toBe(true);
        } else {
          expect(results[0], diag).toMatch(/not approved \(denied\).*ask-touch/s);
          expect(existsSync(join(project, marker))).toBe(false);
        }
        expect(run.code, diag).toBe(0);
        // Answering again changes nothing.
        const again = await fetch(`${warden.url}/api/v1/approvals/${answered.id}`, { method: "POST", headers: { ...AUTH, "content-type": "application/json" }, body: '{"decision":"approve"}' });
        expect(again.status).toBe(409);
      } finally {
        await model.close();
      }
    }, 150_000);
  }
});
