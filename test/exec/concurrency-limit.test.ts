import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createMemoryAuditSink } from "../../src/audit/memory-sink.js";
import { createNativeBackend } from "../../src/exec/native/index.js";
import { createProcessRegistry } from "../../src/exec/process-registry.js";
import type { ExecBackend } from "../../src/exec/types.js";
import { bridgeWith, cleanup, processesWith, tempDir, testPolicy } from "./support.js";

/**
 * execution.max_concurrent_commands through the bridge, with real `sleep`s under bubblewrap: one
 * command over the limit is refused at once (execution.busy, audited, nothing started), background
 * processes hold their slot until they end, and a freed slot is usable again.
 */
describe("a server-wide limit on concurrent commands", () => {
  let backend: ExecBackend;
  let root: string;
  beforeAll(() => {
    backend = createNativeBackend({ confinement: "bubblewrap" });
    root = tempDir("concurrency");
  });
  afterAll(async () => {
    await backend.close();
    cleanup(root);
  });
  const roots = () => [{ path: root, writable: true }];
  const marker = () => `warden-busy-${randomBytes(3).toString("hex")}`;

  it("defaults to 4", () => {
    expect(testPolicy().execution.max_concurrent_commands).toBe(4);
  });

  it("refuses one command over the limit at once, starts nothing for it, and audits the refusal", async () => {
    const audit = createMemoryAuditSink();
    const { bridge } = bridgeWith(backend, roots(), { audit, policy: testPolicy({ max_concurrent_commands: 2 }) });
    const m = marker();
    const t0 = Date.now();
    const command = (i: number) => `: ${m}-${i}; sleep 2`;
    const calls = [1, 2, 3].map((i) => bridge.execute({ command: command(i) }));
    // The refused one answers at once, while the other two still run.
    const first = await Promise.race(calls.map((c, i) => c.then((o) => ({ o, i }))));
    expect(Date.now() - t0).toBeLessThan(1000);
    expect(first.o).toMatchObject({ allowed: false, rule: "execution.busy", reason: expect.stringMatching(/2 commands are running on this server, the limit is 2 \(policy execution\.max_concurrent_commands\)/) });
    // The two others start (their intents written first); the refused one never does.
    // Each is seen running at some point (a loaded machine may start one after the other has
    // ended: each runs 2 s), the refused one never; polled for up to 5 s.
    const others = [1, 2, 3].filter((i) => i !== first.i + 1);
    const seen = new Set<number>();
    for (let t = 0; t < 250; t++) {
      for (const i of [1, 2, 3]) if (processesWith(`${m}-${i}`).length > 0) seen.add(i);
      if (others.every((i) => seen.has(i))) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    expect([...seen].sort()).toEqual(others);
    expect(processesWith(`${m}-${first.i + 1}`)).toEqual([]);
    const all = await Promise.all(calls);
    expect(all.filter((o) => o.allowed && o.result?.exit_code === 0)).toHaveLength(2);
    const refusals = audit.records.filter((r) => r.rule === "execution.busy");
    expect(refusals).toHaveLength(1);
    expect(refusals[0]).toMatchObject({ decision: "deny", tool: "execute_command", args: { command: command(first.i + 1) } });
    expect(refusals[0]!.phase).toBeUndefined();
    // Both slots are free again.
    expect((await Promise.all([1, 2].map(() => bridge.execute({ command: "true" })))).every((o) => o.allowed)).toBe(true);
  });

  it("a background process holds its slot until it ends; killing it frees the slot", async () => {
    const processes = createProcessRegistry({ maxAlive: 8, retainBytes: 4096 });
    const { bridge } = bridgeWith(backend, roots(), { processes, policy: testPolicy({ max_concurrent_commands: 2 }) });
    const m = marker();
    const a = await bridge.execute({ command: `: ${m}; sleep 30`, background: true });
    const b = await bridge.execute({ command: "sleep 2", background: true });
    expect(a.handle && b.handle).toBeTruthy();
    expect(await bridge.execute({ command: "true" })).toMatchObject({ allowed: false, rule: "execution.busy" });
    expect(await bridge.execute({ command: "sleep 1", background: true })).toMatchObject({ allowed: false, rule: "execution.busy" });
    // b ends by itself: its slot comes back.
    for (let i = 0; i < 50 && processes.read(b.handle!)?.running; i++) await new Promise((r) => setTimeout(r, 100));
    await new Promise((r) => setTimeout(r, 50));
    expect(await bridge.execute({ command: "true" })).toMatchObject({ allowed: true });
    // A second long one fills the limit again; killing one frees it.
    const c = await bridge.execute({ command: "sleep 30", background: true });
    expect(await bridge.execute({ command: "true" })).toMatchObject({ allowed: false, rule: "execution.busy" });
    await processes.kill(a.handle!, "SIGKILL");
    expect(processesWith(m)).toEqual([]);
    expect(await bridge.execute({ command: "echo free" })).toMatchObject({ allowed: true, result: { stdout: "free\n" } });
    await processes.kill(c.handle!, "SIGKILL");
    await processes.close();
  });

  it("a start the registry refuses (max_background) gives its slot back", async () => {
    const processes = createProcessRegistry({ maxAlive: 1, retainBytes: 4096 });
    const { bridge } = bridgeWith(backend, roots(), { processes, policy: testPolicy({ max_concurrent_commands: 2 }) });
    const a = await bridge.execute({ command: "sleep 30", background: true });
    for (let i = 0; i < 3; i++) expect(await bridge.execute({ command: "sleep 30", background: true })).toMatchObject({ allowed: false, rule: "execution.max_background" });
    // Only `a` holds a slot: one more foreground command fits.
    expect(await bridge.execute({ command: "true" })).toMatchObject({ allowed: true });
    await processes.kill(a.handle!, "SIGKILL");
    await processes.close();
  });
});
