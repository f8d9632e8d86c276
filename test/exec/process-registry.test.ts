import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createCommandBridge } from "../../src/exec/bridge.js";
import type { DecideCommand } from "../../src/exec/command-policy.js";
import { createNativeBackend } from "../../src/exec/native/index.js";
import { createProcessRegistry, type ProcessRegistry } from "../../src/exec/process-registry.js";
import type { ExecBackend } from "../../src/exec/types.js";
import { createMemoryAuditSink } from "../../src/audit/memory-sink.js";
import { allowEverything, cleanup, processesWith, tempDir, testPolicy } from "./support.js";

const until = async (check: () => boolean, ms = 5000) => {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 25));
  }
};

describe("background processes", () => {
  let backend: ExecBackend;
  let root: string;
  beforeAll(() => {
    backend = createNativeBackend({ confinement: "bubblewrap", killGraceMs: 500 });
    root = tempDir("bg");
  });
  afterAll(async () => {
    await backend.close();
    cleanup(root);
  });

  function setup(decide: DecideCommand = allowEverything, retainBytes = 64 * 1024) {
    const processes = createProcessRegistry({ maxAlive: 4, retainBytes });
    const bridge = createCommandBridge({ policy: testPolicy(), backend, audit: createMemoryAuditSink(), roots: async () => [{ path: root, writable: true }], decide, processes });
    return { processes, bridge };
  }

  it("starts, reads incrementally by offset, lists, kills, and cleans up on close", async () => {
    const { processes, bridge } = setup();
    const marker = `warden-bg-${randomBytes(4).toString("hex")}`;
    const out = await bridge.execute({ command: `exec /bin/sh -c 'i=0; while :; do i=$((i+1)); echo line$i; sleep 0.05; done' ${marker}`, background: true });
    const handle = out.handle!;
    await until(() => (processes.read(handle)?.output_bytes ?? 0) > 20);
    const first = processes.read(handle, 0)!;
    expect(first.output.startsWith("line1\n")).toBe(true);
    await until(() => processes.read(handle)!.output_bytes > first.next_offset + 10);
    const second = processes.read(handle, first.next_offset)!;
    expect(second.offset).toBe(first.next_offset);
    expect(first.output + second.output).toBe(processes.read(handle, 0, 1 << 20)!.output.slice(0, first.output.length + second.output.length));
    expect(processes.list().map((p) => p.handle)).toContain(handle);
    expect(processesWith(marker).length).toBeGreaterThan(0);
    const killed = await processes.kill(handle);
    expect(killed?.running).toBe(false);
    await until(() => processesWith(marker).length === 0);

    const again = await bridge.execute({ command: `exec sleep 1000 ${marker}2`.replace("sleep 1000 ", "/bin/sh -c 'sleep 1000' "), background: true });
    expect(again.handle).toBeTruthy();
    await until(() => processesWith(`${marker}2`).length > 0);
    await processes.close();
    await until(() => processesWith(`${marker}2`).length === 0);
  });

  it("writes input to a process and closes its stdin", async () => {
    const { processes, bridge } = setup();
    const { handle } = await bridge.execute({ command: "exec cat", background: true });
    const h = handle!;
    expect(await processes.write(h, "hello\n")).toEqual({ ok: true });
    await until(() => processes.read(h)!.output === "hello\n");
    expect(await processes.write(h, "bye\n", { eof: true })).toEqual({ ok: true });
    await until(() => !processes.read(h)!.running);
    expect(processes.read(h)).toMatchObject({ output: "hello\nbye\n", exit_code: 0 });
    expect(await processes.write(h, "late")).toMatchObject({ ok: false, rule: "process.exited" });
    await processes.close();
  });

  it("checks input to a shell like a command (real command policy)", async () => {
    const processes = createProcessRegistry({ maxAlive: 4, retainBytes: 4096 });
    const policy = testPolicy({}, { commands: { allow: [{ program: "echo" }], shells: ["sh"] } });
    const bridge = createCommandBridge({ policy, backend, audit: createMemoryAuditSink(), roots: async () => [{ path: root, writable: true }], processes });
    const started = await bridge.execute({ command: "sh", background: true });
    expect(started).toMatchObject({ allowed: true });
    const handle = started.handle!;
    expect(await processes.write(handle, "echo fine\n")).toEqual({ ok: true });
    const refused = await processes.write(handle, "cat /etc/hostname\n");
    expect(refused.ok).toBe(false);
    expect(await processes.write(handle, "echo partial")).toMatchObject({ ok: false });
    await until(() => processes.read(handle)!.output === "fine\n");
    await processes.close();
  });

  it("treats input to a non-shell as data", async () => {
    const processes = createProcessRegistry({ maxAlive: 4, retainBytes: 4096 });
    const policy = testPolicy({}, { commands: { allow: [{ program: "cat" }] } });
    const bridge = createCommandBridge({ policy, backend, audit: createMemoryAuditSink(), roots: async () => [{ path: root, writable: true }], processes });
    const { handle } = await bridge.execute({ command: "cat", background: true });
    expect(await processes.write(handle!, "rm -rf / is just text here\n")).toEqual({ ok: true });
    await until(() => processes.read(handle!)!.output === "rm -rf / is just text here\n");
    await processes.close();
  });

  it("bounds retention and reports the dropped prefix", async () => {
    const { processes, bridge } = setup(allowEverything, 1024);
    const { handle } = await bridge.execute({ command: "head -c 5000 /dev/zero | tr '\\0' a; echo; echo END", background: true });
    await until(() => !processes.read(handle!)!.running);
    const r = processes.read(handle!, 0)!;
    expect(r.output_bytes).toBe(5005);
    expect(r.dropped_bytes).toBe(5005 - 1024);
    expect(r.offset).toBe(5005 - 1024);
    expect(r.output.endsWith("\nEND\n")).toBe(true);
    expect(Buffer.byteLength(r.output)).toBe(1024);
    await processes.close();
  });

  it("keeps multi-byte characters whole across chunks", async () => {
    const { processes, bridge } = setup();
    const { handle } = await bridge.execute({ command: "printf '\\342\\202'; sleep 0.3; printf '\\254 done'", background: true });
    await until(() => !processes.read(handle!)!.running);
    expect(processes.read(handle!)!.output).toBe("€ done");
    await processes.close();
  });

  it("answers unknown handles with null / a refusal", async () => {
    const { processes } = setup();
    expect(processes.read("nope")).toBeNull();
    expect(await processes.kill("nope")).toBeNull();
    expect(await processes.write("nope", "x")).toMatchObject({ ok: false, rule: "process.unknown" });
  });
});
