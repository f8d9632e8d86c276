import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createExecServices, type ExecServices } from "../../src/exec/services.js";
import { commandTools } from "../../src/tools/command-tools.js";
import type { ToolContext, ToolDefinition } from "../../src/tools/tool.js";
import { createMemoryAuditSink, type MemoryAuditSink } from "../../src/audit/memory-sink.js";
import type { DecideCommand } from "../../src/exec/command-policy.js";
import { cleanup, tempDir, testPolicy } from "./support.js";

const decide: DecideCommand = async (source) =>
  source.includes("secret")
    ? { allow: false, rule: "commands.deny[0]", reason: "denied by a deny rule" }
    : { allow: true, rule: "commands.allow[0]", reason: "allowed", plan: { kind: "script", shell: "/bin/sh", script: source } };

describe("command tools", () => {
  let root: string;
  let services: ExecServices;
  let audit: MemoryAuditSink;
  const progress: string[] = [];
  beforeAll(() => {
    root = tempDir("tools");
    audit = createMemoryAuditSink();
    const policy = testPolicy({}, { commands: { allow: [{ program: "ls" }] } });
    services = createExecServices({ policy, audit, roots: async () => [{ path: root, writable: true }], decide });
  });
  afterAll(async () => {
    await services.close();
    cleanup(root);
  });

  const ctx = (): ToolContext =>
    ({
      roots: async () => [{ path: root, writable: true }],
      policy: testPolicy(),
      services: { commands: services.commands, processes: services.processes },
      progress: async (_p: number, m?: string) => void progress.push(m ?? ""),
      signal: new AbortController().signal,
    }) as unknown as ToolContext;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const tool = (name: string) => commandTools.find((t) => t.name === name) as ToolDefinition<any>;

  it("exports the six tools, execute_command self-audited", () => {
    expect(commandTools.map((t) => t.name).sort()).toEqual(["check_command_exists", "execute_command", "kill_process", "list_processes", "read_process_output", "write_process_input"]);
    expect(tool("execute_command").selfAudited).toBe(true);
    for (const t of commandTools) for (const s of Object.values(t.inputSchema)) expect((s as { description?: string }).description).toBeTruthy();
  });

  it("execute_command returns the one result shape", async () => {
    const out = await tool("execute_command").handler({ command: "echo out; echo err >&2; exit 4" }, ctx());
    expect(out).toMatchObject({ ok: true, structured: { exit_code: 4, stdout: "out\n", stderr: "err\n", timed_out: false, truncated: false } });
    expect(audit.records.at(-1)).toMatchObject({ tool: "execute_command", decision: "allow", exit_code: 4 });
  });

  it("a denial names the rule and never carries the denied content", async () => {
    const out = await tool("execute_command").handler({ command: "cat /x/secret-file-name" }, ctx());
    expect(out.ok).toBe(false);
    if (!out.ok) {
      expect(out.rule).toBe("commands.deny[0]");
      expect(out.message).toContain("commands.deny[0]");
      expect(out.message).not.toContain("secret-file-name");
    }
  });

  it("background: start, read, write, list, kill", async () => {
    const started = await tool("execute_command").handler({ command: "exec cat", background: true }, ctx());
    expect(started.ok).toBe(true);
    const handle = (started as unknown as { structured: { handle: string } }).structured.handle;
    expect(await tool("write_process_input").handler({ handle, input: "ping\n" }, ctx())).toMatchObject({ ok: true, structured: { bytes_written: 5 } });
    let read;
    for (let i = 0; i < 100; i++) {
      read = await tool("read_process_output").handler({ handle, offset: 0 }, ctx());
      if ((read as unknown as { structured: { output: string } }).structured.output) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(read).toMatchObject({ ok: true, structured: { output: "ping\n", next_offset: 5, running: true } });
    expect(await tool("list_processes").handler({}, ctx())).toMatchObject({ ok: true, structured: { processes: [expect.objectContaining({ handle, running: true })] } });
    expect(await tool("kill_process").handler({ handle }, ctx())).toMatchObject({ ok: true, structured: { handle, running: false } });
    expect(await tool("read_process_output").handler({ handle: "zzz" }, ctx())).toMatchObject({ ok: false, rule: "process.unknown" });
  });

  it("check_command_exists reports existence, path and the deciding rule", async () => {
    expect(await tool("check_command_exists").handler({ command: "ls" }, ctx())).toMatchObject({ ok: true, structured: { exists: true, allowed: true, path: "/usr/bin/ls", rule: expect.stringMatching(/allow/) } });
    expect(await tool("check_command_exists").handler({ command: "no-such-prog-42" }, ctx())).toMatchObject({ ok: true, structured: { exists: false, allowed: false, path: null } });
  });

  it("sends progress while a long command runs", async () => {
    progress.length = 0;
    const bridge = services.commands;
    void bridge;
    // The bridge reports every 5 s; a 6 s command yields one progress call.
    const out = await tool("execute_command").handler({ command: "sleep 5.5" }, ctx());
    expect(out.ok).toBe(true);
    expect(progress.length).toBeGreaterThanOrEqual(1);
  }, 20_000);

  it("get_system_info sees the bridge's confinement", () => {
    expect(services.commands.describe()).toMatchObject({ backend: "native", confinement: "bubblewrap", privileged: false });
  });
});
