import { randomBytes } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDenyMaskCache } from "../../../src/exec/native/deny-masks.js";
import { createNativeBackend } from "../../../src/exec/native/index.js";
import { startWardenHttp } from "../../e2e/support/warden-process.js";
import { connectMcp, textOf, TOKEN } from "../../http/support.js";
import { startWarden } from "../../support/warden-client.js";
import { bridgeWith, cleanup, tempDir, testPolicy } from "../support.js";

/**
 * The filesystem.deny check of the roots starts with the server, not with the first command. A
 * command waits at most execution.deny_scan_budget_ms for the check of its roots and starts with
 * what is not checked yet hidden (fail closed), so before this the first command on a large tree
 * saw most of it as empty directories. Here the budget is 0, so a command sees only what was
 * checked before it came; a `.env` canary must stay hidden either way.
 */

const DIRS = 1000;
const LIST = "cat d*/f.txt | wc -l; cat sec/.env 2>&1; true";

describe("the deny check starts before the first command", () => {
  let root: string;
  const canary = `CANARY-${randomBytes(8).toString("hex")}`;
  const policy = testPolicy({ deny_scan_budget_ms: 0 });

  beforeAll(() => {
    root = tempDir("deny-warm");
    for (let i = 0; i < DIRS; i++) {
      mkdirSync(join(root, `d${i}`));
      writeFileSync(join(root, `d${i}`, "f.txt"), "x\n");
    }
    mkdirSync(join(root, "sec"));
    writeFileSync(join(root, "sec", ".env"), `${canary}\n`);
  });
  afterAll(() => cleanup(root));

  async function firstCommand(warm: boolean) {
    const cache = createDenyMaskCache();
    const backend = createNativeBackend({ confinement: "bubblewrap", denyMaskCache: cache });
    try {
      const { bridge } = bridgeWith(backend, [{ path: root, writable: true }], { policy });
      if (warm) {
        await bridge.warm();
        await cache.settled();
      }
      const out = await bridge.execute({ command: LIST });
      expect(out.allowed, out.reason).toBe(true);
      return out.result!;
    } finally {
      await backend.close();
    }
  }

  it("warmed: the first command sees every directory, the secret hidden; cold: it sees the tree hidden", async () => {
    const warmed = await firstCommand(true);
    expect(warmed.stdout.split("\n")[0]!.trim()).toBe(String(DIRS));
    expect(warmed.stdout + warmed.stderr).not.toContain(canary);
    // The same first command without the warm-up (what every server did before): its budget of 0 ms
    // is over before the check reached the directories, so they were hidden (and the secret too).
    const cold = await firstCommand(false);
    expect(Number(cold.stdout.split("\n")[0]!.trim())).toBeLessThan(DIRS);
    expect(cold.stdout + cold.stderr).not.toContain(canary);
  });

  it("warden serve starts the check itself: the first command after start-up sees the tree", async () => {
    const policyFile = join(tempDir("deny-warm-policy"), "policy.json");
    writeFileSync(policyFile, JSON.stringify({ execution: { deny_scan_budget_ms: 0 } }));
    const w = await startWarden(["--root", root, "--policy", policyFile, "--allow", "cat", "--allow", "wc", "--allow", "true"]);
    try {
      // Nothing but the server's own start-up has checked the tree. 1,000 directories take tens of
      // milliseconds; the wait is far longer so a loaded machine does not matter.
      await new Promise((r) => setTimeout(r, 3000));
      const out = w.text(await w.call("execute_command", { command: LIST }));
      expect(out).toMatch(new RegExp(`(^|\\n)\\s*${DIRS}\\s*\\n`));
      expect(out).not.toContain(canary);
    } finally {
      await w.close();
      cleanup(join(policyFile, ".."));
    }
  });

  it("--workspace-per-session: each session's new view is checked when the session starts", async () => {
    const home = tempDir("deny-warm-session");
    const policyFile = join(home, "policy.json");
    writeFileSync(policyFile, JSON.stringify({ execution: { deny_scan_budget_ms: 0 } }));
    const warden = await startWardenHttp(
      ["--root", root, "--policy", policyFile, "--allow", "cat", "--allow", "wc", "--allow", "true", "--workspace-per-session", "--state-dir", join(home, "state")],
      { WARDEN_TOKEN: TOKEN },
    );
    const c = await connectMcp(warden.url, TOKEN);
    try {
      await new Promise((r) => setTimeout(r, 3000)); // as above: far longer than the check takes
      const out = textOf(await c.call("execute_command", { command: LIST }));
      expect(out).toMatch(new RegExp(`(^|\\n)\\s*${DIRS}\\s*\\n`));
      expect(out).not.toContain(canary);
    } finally {
      await c.close();
      await warden.stop();
      cleanup(home);
    }
  });
});
