import { randomBytes } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startAgent } from "../../../src/exec/host-agent/agent-config.js";
import { AgentClient } from "../../../src/exec/host-agent/agent-client.js";
import { makeTempDir, removeDir } from "../../support/tree.js";

/** The host agent keeps its own audit log under the same rules: out of its roots' reach, intent before outcome. */
describe("host agent audit log", () => {
  let dir: string;
  const token = randomBytes(24).toString("hex");
  beforeAll(() => {
    dir = makeTempDir("warden-agent-audit-");
    mkdirSync(join(dir, "root"));
    writeFileSync(join(dir, "token"), token);
  });
  afterAll(() => removeDir(dir));
  const options = (auditLog: string) => ({ listen: "127.0.0.1:0", roots: [join(dir, "root")], readOnly: [], allow: ["echo"], tokenFile: join(dir, "token"), auditLog, cwd: dir, env: { PATH: "/usr/bin:/bin" }, log: () => {} });

  it("refuses to start with its audit log inside one of its roots", async () => {
    await expect(startAgent(options(join(dir, "root", "audit.jsonl")))).rejects.toThrow(/refusing to start: the audit log .*root\/audit\.jsonl lies inside the read-write root/);
  });

  it("records a command it runs as an intent and an outcome", async () => {
    const file = join(dir, "agent-audit.jsonl");
    const agent = await startAgent(options(file));
    const client = new AgentClient(agent.server.url, token);
    try {
      const res = await client.call("POST", "/v1/execute", { command: "echo from-agent" });
      expect(res.body).toMatchObject({ allowed: true, result: { stdout: "from-agent\n" } });
    } finally {
      client.close();
      await agent.close();
    }
    const recs = readFileSync(file, "utf8").trim().split("\n").map((l) => JSON.parse(l));
    expect(recs.map((r) => [r.phase, r.tool])).toEqual([["intent", "agent.execute"], ["outcome", "agent.execute"]]);
    expect(recs[1].id).toBe(recs[0].id);
  });
});
