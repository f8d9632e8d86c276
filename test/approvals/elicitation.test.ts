import { existsSync, mkdirSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { InMemoryTransport } from "@modelcontextprotocol/sdk/inMemory.js";
import { ElicitRequestSchema, type CallToolResult, type ElicitRequest, type ElicitResult } from "@modelcontextprotocol/sdk/types.js";
import { afterAll, beforeAll, beforeEach, describe, expect, test } from "vitest";
import { verifyAuditLog } from "../../src/audit/verify.js";
import { createWardenServer } from "../../src/server/create-server.js";
import { askFixture, askPolicy, SECRET_TOKEN, type AskFixture } from "./support.js";

/**
 * Clients that declare form elicitation are asked themselves, with the MCP SDK client: one
 * boolean ("Approve once"); only accept with true runs the call. The command and the write are
 * real (native backend, WASI write module); the marker must not exist while the question is open.
 */

type Answer = (req: ElicitRequest["params"]) => Promise<ElicitResult>;

let fx: AskFixture;
let answer: Answer;
let asked: Array<{ message: string; markerExisted: boolean; schema: unknown }>;

async function connect(elicit: boolean): Promise<Client> {
  const client = new Client({ name: "ask-test", version: "1.0.0" }, { capabilities: elicit ? { elicitation: { form: {} } } : {} });
  if (elicit) {
    client.setRequestHandler(ElicitRequestSchema, async (req) => {
      const params = req.params as ElicitRequest["params"] & { message: string; requestedSchema: unknown };
      asked.push({ message: params.message, markerExisted: existsSync(join(fx.root, "marker")), schema: params.requestedSchema });
      return answer(params);
    });
  }
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  await createWardenServer(fx.deps).connect(serverSide);
  await client.connect(clientSide);
  return client;
}

const text = (r: CallToolResult) => r.content.map((c) => (c.type === "text" ? c.text : "")).join("\n");
const call = async (c: Client, name: string, args: Record<string, unknown>) => (await c.callTool({ name, arguments: args })) as CallToolResult;
const TOUCH = { command: `touch marker && echo ${SECRET_TOKEN}` };

beforeAll(async () => {
  fx = await askFixture(askPolicy({ approvals: { timeout_s: 2 } }));
  mkdirSync(join(fx.root, "secrets"));
  symlinkSync("secrets", join(fx.root, "notes"));
});
afterAll(() => fx.close());
beforeEach(async () => {
  asked = [];
  const { rmSync } = await import("node:fs");
  rmSync(join(fx.root, "marker"), { force: true });
});

describe("a command an ask rule matches, asked through elicitation", () => {
  test("accept with Approve once = true: asked once (marker absent meanwhile), then it runs once", async () => {
    answer = async () => ({ action: "accept", content: { approve: true } });
    const c = await connect(true);
    const r = await call(c, "execute_command", TOUCH);
    expect(r.isError ?? false, text(r)).toBe(false);
    expect(existsSync(join(fx.root, "marker"))).toBe(true);
    expect(asked).toHaveLength(1);
    expect(asked[0]!.markerExisted).toBe(false);
    expect(asked[0]!.schema).toMatchObject({ properties: { approve: { type: "boolean", title: "Approve once" } }, required: ["approve"] });
    // The question is redacted like audit records: the secret never reaches the client's prompt.
    expect(asked[0]!.message).toContain("touch marker");
    expect(asked[0]!.message).not.toContain(SECRET_TOKEN);
    await c.close();
  });

  // [answer, outcome word in the denial]
  const REFUSALS: [string, Answer, RegExp][] = [
    ["accept without ticking the box", async () => ({ action: "accept", content: { approve: false } }), /not approved \(declined\)/],
    ["decline", async () => ({ action: "decline" }), /not approved \(declined\)/],
    ["cancel", async () => ({ action: "cancel" }), /not approved \(cancelled\)/],
    ["an error in the client", async () => Promise.reject(new Error("the user's UI crashed")), /not approved \(error\)/],
    ["no answer before approvals.timeout_s", () => new Promise(() => {}), /not approved \(timeout\)/],
  ];
  test.each(REFUSALS)("%s: denied naming the ask rule, nothing runs", async (_name, a, why) => {
    answer = a;
    const c = await connect(true);
    const r = await call(c, "execute_command", TOUCH);
    expect(r.isError).toBe(true);
    expect(text(r)).toMatch(why);
    expect(text(r)).toMatch(/ask-touch/);
    expect(existsSync(join(fx.root, "marker"))).toBe(false);
    await c.close();
  });

  test("no elicitation capability and no operator channel: denied at once, the message says how to open one", async () => {
    const c = await connect(false);
    const r = await call(c, "execute_command", TOUCH);
    expect(r.isError).toBe(true);
    expect(text(r)).toMatch(/not approved \(unavailable\).*ask-touch.*--approvals-port/s);
    expect(existsSync(join(fx.root, "marker"))).toBe(false);
    await c.close();
  });

  test("commands no ask rule matches are not asked about", async () => {
    answer = async () => ({ action: "decline" });
    const c = await connect(true);
    const r = await call(c, "execute_command", { command: "echo plain" });
    expect(text(r)).toContain("plain");
    expect(asked).toHaveLength(0);
    await c.close();
  });
});

describe("filesystem.ask: writes under secrets/** wait for a human", () => {
  test("approved write lands; declined write does not; both asked once", async () => {
    const c = await connect(true);
    answer = async () => ({ action: "accept", content: { approve: true } });
    const ok = await call(c, "write_file", { path: "secrets/a.txt", content: "approved" });
    expect(ok.isError ?? false, text(ok)).toBe(false);
    answer = async () => ({ action: "decline" });
    const no = await call(c, "write_file", { path: "secrets/b.txt", content: "declined" });
    expect(no.isError).toBe(true);
    expect(text(no)).toMatch(/filesystem\.ask:secrets\/\*\*/);
    expect(existsSync(join(fx.root, "secrets", "a.txt"))).toBe(true);
    expect(existsSync(join(fx.root, "secrets", "b.txt"))).toBe(false);
    expect(asked).toHaveLength(2);
    await c.close();
  });

  test("another name for the same place (a symlink) is refused, not silently written", async () => {
    answer = async () => ({ action: "accept", content: { approve: true } });
    const c = await connect(true);
    const tries = ["notes/c.txt", "./notes/c.txt", "notes/../notes/c.txt"];
    for (const path of tries) {
      for (const tool of ["write_file", "edit_file"] as const) {
        const args = tool === "write_file" ? { path, content: "sneaked" } : { path, edits: [{ old_text: "approved", new_text: "sneaked" }] };
        const r = await call(c, tool, args);
        expect(r.isError, `${tool} ${path}: ${text(r)}`).toBe(true);
        expect(text(r)).toMatch(/filesystem\.ask:secrets/);
      }
    }
    expect(existsSync(join(fx.root, "secrets", "c.txt"))).toBe(false);
    expect(asked).toHaveLength(0);
    await c.close();
  });
});

describe("the audit chain holds the question, the answer and the execution as separate records", () => {
  test("question -> answer -> intent (naming the approval) -> outcome; nothing secret; the chain verifies", async () => {
    answer = async () => ({ action: "accept", content: { approve: true } });
    const c = await connect(true);
    const before = fx.records().length;
    await call(c, "execute_command", TOUCH);
    await c.close();
    const recs = fx.records().slice(before);
    expect(recs.map((r) => `${r.tool}${r.phase ? `:${r.phase}` : ""}`)).toEqual(["approval:intent", "approval:outcome", "execute_command:intent", "execute_command:outcome"]);
    const [q, a, intent] = recs as Array<Record<string, any>>; // eslint-disable-line @typescript-eslint/no-explicit-any
    expect(q!.args.binding).toMatchObject({ tool: "execute_command", args_sha256: expect.stringMatching(/^[0-9a-f]{64}$/), policy_sha256: fx.deps.approvals!.policySha256 });
    expect(q!.args.binding.session).toBe(intent!.session);
    expect(a!).toMatchObject({ id: q!.id, decision: "allow", rule: "ask-touch", args: { approval: q!.args.approval, outcome: "approved", channel: "elicitation" } });
    expect(q!.id).toBe(q!.args.approval);
    expect(intent!.approval).toBe(q!.args.approval);
    expect(readAll()).not.toContain(SECRET_TOKEN);
    const verified = await verifyAuditLog(fx.auditLog);
    expect(verified, JSON.stringify(verified)).toMatchObject({ ok: true });
  });
});

function readAll(): string {
  return JSON.stringify(fx.records());
}
