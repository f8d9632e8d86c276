import { describe, expect, test } from "vitest";
import { bindApproval, bindingMismatch, canonicalSha256 } from "../../src/approvals/binding.js";
import { ApprovalQueue } from "../../src/approvals/queue.js";
import type { ApprovalEvent } from "../../src/approvals/types.js";

const CALL = { session: "s1", tool: "execute_command", args: { command: "rm -rf build", timeout: 5 } };
const POLICY = "a".repeat(64);

function item(timeoutMs = 60_000, now = Date.now()) {
  return { tool: CALL.tool, rule: "ask-rm", question: "execute_command wants to run: rm -rf build", binding: bindApproval(CALL, POLICY, timeoutMs, now) };
}

describe("binding: an approval covers exactly one call under one policy until it expires", () => {
  test("canonical argument hash ignores key order and nothing else", () => {
    expect(canonicalSha256({ a: 1, b: [1, 2] })).toBe(canonicalSha256({ b: [1, 2], a: 1 }));
    expect(canonicalSha256({ a: 1 })).not.toBe(canonicalSha256({ a: "1" }));
  });
  const now = 1_700_000_000_000;
  const binding = bindApproval(CALL, POLICY, 1000, now);
  const CASES: [string, Parameters<typeof bindingMismatch>[1], string, number, RegExp | null][] = [
    ["same call", CALL, POLICY, now + 999, null],
    ["same call, keys reordered", { ...CALL, args: { timeout: 5, command: "rm -rf build" } }, POLICY, now, null],
    ["expired", CALL, POLICY, now + 1001, /expired/],
    ["other arguments", { ...CALL, args: { command: "rm -rf /", timeout: 5 } }, POLICY, now, /arguments changed/],
    ["other session", { ...CALL, session: "s2" }, POLICY, now, /another session/],
    ["other tool", { ...CALL, tool: "write_file" }, POLICY, now, /not write_file/],
    ["other policy", CALL, "b".repeat(64), now, /policy changed/],
  ];
  test.each(CASES)("%s", (_name, call, policy, at, why) => {
    const m = bindingMismatch(binding, call, policy, at);
    if (why === null) expect(m).toBeNull();
    else expect(m).toMatch(why);
  });
});

describe("queue: every answer is taken once; bad answers get clear errors and change nothing", () => {
  test("approve settles the waiting call; a second answer is 409, and so is a deny after it", async () => {
    const q = new ApprovalQueue();
    const { id, answer } = q.enqueue(item());
    expect(q.list().map((a) => a.id)).toEqual([id]);
    expect(q.answer(id, "approve")).toMatchObject({ ok: true, approval: { id, state: "approved" } });
    expect(await answer).toBe("approve");
    expect(q.pending()).toBe(0);
    for (const again of ["approve", "deny"]) expect(q.answer(id, again)).toMatchObject({ ok: false, status: 409, code: "approval_answered" });
    expect(q.list(true)[0]).toMatchObject({ id, state: "approved" });
  });

  test("unknown and malformed ids are 404, bad decisions 400, none touches the pending call", async () => {
    const q = new ApprovalQueue();
    const { id } = q.enqueue(item());
    expect(q.answer("0123456789abcdef", "approve")).toMatchObject({ status: 404, code: "unknown_approval" });
    expect(q.answer("../../etc", "approve")).toMatchObject({ status: 404, message: expect.stringMatching(/not an approval id/) });
    expect(q.answer(id, "yes")).toMatchObject({ status: 400, message: expect.stringMatching(/"approve" or "deny"/) });
    expect(q.answer(id, undefined)).toMatchObject({ status: 400 });
    expect(q.list()).toMatchObject([{ id, state: "pending" }]);
    q.close();
  });

  test("no answer before the expiry denies (timeout); answering it then is 410", async () => {
    const q = new ApprovalQueue();
    const { id, answer } = q.enqueue(item(30));
    expect(await answer).toBe("timeout");
    expect(q.answer(id, "approve")).toMatchObject({ ok: false, status: 410, code: "approval_expired" });
  });

  test("a client that gives up cancels its question: gone from the list, answering it is 410", async () => {
    const q = new ApprovalQueue();
    const abort = new AbortController();
    const { id, answer } = q.enqueue(item(), abort.signal);
    abort.abort();
    expect(await answer).toBe("cancel");
    expect(q.pending()).toBe(0);
    expect(q.answer(id, "approve")).toMatchObject({ status: 410, code: "approval_cancelled" });
  });

  test("listeners see asked/answered with the pending count; a throwing listener changes nothing", async () => {
    const q = new ApprovalQueue();
    const events: ApprovalEvent[] = [];
    q.subscribe(() => {
      throw new Error("metrics bug");
    });
    const off = q.subscribe((e) => events.push(e));
    const { id, answer } = q.enqueue(item());
    q.answer(id, "deny");
    expect(await answer).toBe("deny");
    q.report(id, "queue", "denied");
    off();
    q.enqueue(item());
    expect(events).toEqual([
      { type: "asked", id, channel: "queue", pending: 1 },
      { type: "answered", id, channel: "queue", outcome: "denied", pending: 0 },
    ]);
    q.close();
  });

  test("an operator channel is counted while attached", () => {
    const q = new ApprovalQueue();
    expect(q.hasOperator()).toBe(false);
    const detach = q.attachOperator();
    expect(q.hasOperator()).toBe(true);
    detach();
    detach();
    expect(q.hasOperator()).toBe(false);
  });
});

describe("metrics hook", () => {
  test("connectApprovalMetrics counts every answer by outcome and follows the pending count", async () => {
    const { connectApprovalMetrics } = await import("../../src/approvals/metrics-hook.js");
    const q = new ApprovalQueue();
    const seen: string[] = [];
    const off = connectApprovalMetrics(q, { answered: (o) => seen.push(`answered:${o}`), pending: (n) => seen.push(`pending:${n}`) });
    const { id } = q.enqueue(item());
    q.answer(id, "approve");
    q.report(id, "queue", "approved");
    q.report("x", "elicitation", "declined");
    off();
    q.report("y", "elicitation", "declined");
    expect(seen).toEqual(["pending:1", "answered:approved", "pending:0", "answered:declined", "pending:0"]);
  });
});
