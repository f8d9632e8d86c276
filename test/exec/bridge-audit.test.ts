import { existsSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createMemoryAuditSink, type MemoryAuditSink } from "../../src/audit/memory-sink.js";
import { createNativeBackend } from "../../src/exec/native/index.js";
import { createProcessRegistry } from "../../src/exec/process-registry.js";
import type { ExecBackend } from "../../src/exec/types.js";
import { bridgeWith, cleanup, tempDir } from "./support.js";

/**
 * The bridge fails closed on its audit log (real commands under bubblewrap): a command whose
 * intent cannot be written never starts; one whose outcome cannot be written has run, and the
 * outcome says so.
 */
describe("command bridge: intent before dispatch", () => {
  let backend: ExecBackend;
  let root: string;
  beforeAll(() => {
    backend = createNativeBackend({ confinement: "bubblewrap" });
    root = tempDir("bridge-audit");
  });
  afterAll(async () => {
    await backend.close();
    cleanup(root);
  });
  const roots = () => [{ path: root, writable: true }];

  /** A sink that takes `n` records, then fails like a full disk. */
  function failingAfter(n: number): MemoryAuditSink {
    const sink = createMemoryAuditSink();
    const record = sink.record.bind(sink);
    sink.record = async (entry, options) => {
      if (sink.records.length >= n) sink.failWith = "write failed: ENOSPC: no space left on device";
      return record(entry, options);
    };
    return sink;
  }

  it.each([
    ["foreground", false],
    ["background", true],
  ])("a %s command whose intent cannot be written does not run (rule audit.unavailable)", async (_name, background) => {
    const audit = failingAfter(0);
    const processes = createProcessRegistry({ maxAlive: 4, retainBytes: 4096 });
    const { bridge } = bridgeWith(backend, roots(), { audit, processes });
    const target = join(root, `not-created-${background ? "bg" : "fg"}`);
    const out = await bridge.execute({ command: `touch ${target}`, background });
    expect(out).toMatchObject({ allowed: false, rule: "audit.unavailable", reason: expect.stringMatching(/not run: the audit log cannot record it: .*ENOSPC/) });
    expect(out.result).toBeUndefined();
    expect(out.handle).toBeUndefined();
    await new Promise((r) => setTimeout(r, 300));
    expect(existsSync(target)).toBe(false);
    expect(processes.list()).toEqual([]);
    expect(audit.records).toEqual([]);
    await processes.close();
  });

  it("a command whose outcome cannot be written has run, and its outcome says the log holds only the intent", async () => {
    const audit = failingAfter(1);
    const { bridge } = bridgeWith(backend, roots(), { audit });
    const target = join(root, "created");
    const out = await bridge.execute({ command: `touch ${target} && echo made` });
    expect(out).toMatchObject({ allowed: true, result: { exit_code: 0, stdout: "made\n" }, unrecorded: expect.stringMatching(/ENOSPC/) });
    expect(existsSync(target)).toBe(true);
    expect(audit.records).toHaveLength(1);
    expect(audit.records[0]).toMatchObject({ phase: "intent", tool: "execute_command" });
  });

  it("a denied command is one record (nothing ran, so no intent)", async () => {
    const audit = createMemoryAuditSink();
    const { bridge } = bridgeWith(backend, roots(), { audit, decide: async () => ({ allow: false, rule: "commands.no_match", reason: "no" }) });
    await bridge.execute({ command: "true" });
    expect(audit.records).toHaveLength(1);
    expect(audit.records[0]).toMatchObject({ decision: "deny", rule: "commands.no_match" });
    expect(audit.records[0]!.phase).toBeUndefined();
  });
});
