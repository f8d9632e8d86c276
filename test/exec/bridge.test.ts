import { mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createCommandBridge } from "../../src/exec/bridge.js";
import { createNativeBackend } from "../../src/exec/native/index.js";
import { createProcessRegistry } from "../../src/exec/process-registry.js";
import type { ExecBackend } from "../../src/exec/types.js";
import { createMemoryAuditSink } from "../../src/audit/memory-sink.js";
import type { DecideCommand } from "../../src/exec/command-policy.js";
import { bridgeWith, cleanup, tempDir, testPolicy } from "./support.js";

describe("command bridge: normalize -> decide -> dispatch -> audit", () => {
  let backend: ExecBackend;
  let root: string;
  let outside: string;
  beforeAll(() => {
    backend = createNativeBackend({ confinement: "bubblewrap" });
    root = tempDir("bridge-root");
    outside = tempDir("bridge-outside");
    mkdirSync(join(root, "sub"));
    symlinkSync(outside, join(root, "escape"));
  });
  afterAll(async () => {
    await backend.close();
    cleanup(root, outside);
  });
  const roots = () => [{ path: root, writable: true }];

  it("runs an allowed command in the first root by default, recorded before (intent) and after (outcome)", async () => {
    const { bridge, audit } = bridgeWith(backend, roots());
    const out = await bridge.execute({ command: "pwd; echo $HOME" });
    expect(out.allowed).toBe(true);
    expect(out.result?.stdout).toBe(`${root}\n/home/warden\n`);
    expect(audit.records).toHaveLength(2);
    expect(audit.records[0]).toMatchObject({ phase: "intent", tool: "execute_command", args: { command: "pwd; echo $HOME" }, rule: "test.allow_all", backend: "native" });
    expect(audit.records[0]!.decision).toBeUndefined();
    expect(audit.records[1]).toMatchObject({ phase: "outcome", id: audit.records[0]!.id, tool: "execute_command", decision: "allow", rule: "test.allow_all", exit_code: 0, backend: "native" });
  });

  it("resolves a relative working_directory against the first root", async () => {
    const { bridge } = bridgeWith(backend, roots());
    const out = await bridge.execute({ command: "pwd", working_directory: "sub" });
    expect(out.result?.stdout).toBe(`${join(root, "sub")}\n`);
  });

  it.each([
    ["an absolute path outside", () => outside],
    ["a relative path climbing out", () => "../"],
    ["a symlink inside a root pointing outside", () => join(root, "escape")],
    ["a missing directory", () => join(root, "missing")],
    ["/", () => "/"],
  ])("refuses working_directory: %s", async (_name, dir) => {
    const { bridge, audit } = bridgeWith(backend, roots());
    const out = await bridge.execute({ command: "pwd", working_directory: dir() });
    expect(out.allowed).toBe(false);
    expect(out.rule).toBe("execution.working_directory");
    expect(out.result).toBeUndefined();
    expect(audit.records[0]).toMatchObject({ decision: "deny", rule: "execution.working_directory" });
  });

  it.each(["PATH", "LD_PRELOAD", "LD_LIBRARY_PATH", "BASH_ENV", "ENV", "NODE_OPTIONS", "PYTHONPATH", "PYTHONSTARTUP", "PERL5OPT", "RUBYOPT", "GIT_CONFIG_GLOBAL", "GIT_SSH_COMMAND", "GIT_EXEC_PATH", "IFS", "PS4", "PROMPT_COMMAND", "SHELLOPTS", "DYLD_INSERT_LIBRARIES", "npm_config_script_shell", "BASH_FUNC_ls%%", "HOME", "GIT_PAGER", "PAGER", "EDITOR", "LESSOPEN"])(
    "refuses a caller-set %s",
    async (name) => {
      const { bridge, audit } = bridgeWith(backend, roots());
      const out = await bridge.execute({ command: "true", env: { [name]: "/tmp/evil" } });
      expect(out.allowed).toBe(false);
      expect(out.rule).toMatch(/^execution\.env\./);
      expect(out.reason).not.toContain("/tmp/evil");
      expect(audit.records[0]!.decision).toBe("deny");
      expect(JSON.stringify(audit.records[0])).not.toContain("/tmp/evil");
    },
  );

  it("lets the caller set ordinary variables and caller_env_allow open a denied one", async () => {
    const policy = testPolicy({ caller_env_allow: ["PYTHONDONTWRITEBYTECODE"] });
    const { bridge } = bridgeWith(backend, roots(), { policy });
    const out = await bridge.execute({ command: 'echo "$DEBUG $PYTHONDONTWRITEBYTECODE $PATH"', env: { DEBUG: "on", PYTHONDONTWRITEBYTECODE: "1" } });
    expect(out.result?.stdout).toBe(`on 1 ${policy.commands.trusted_path.join(":")}\n`);
  });

  it("passes only allowlisted server variables", async () => {
    const { bridge } = bridgeWith(backend, roots(), { serverEnv: { LANG: "C.UTF-8", AWS_SECRET_ACCESS_KEY: "leak", LC_ALL: "C" } });
    const out = await bridge.execute({ command: "env" });
    expect(out.result?.stdout).toContain("LANG=C.UTF-8");
    expect(out.result?.stdout).toContain("LC_ALL=C");
    expect(out.result?.stdout).not.toContain("leak");
  });

  it("bounds the timeout by the policy's maximum", async () => {
    const { bridge } = bridgeWith(backend, roots(), { policy: testPolicy({ timeout_s: 1, max_timeout_s: 1 }) });
    const out = await bridge.execute({ command: "sleep 20", timeout: 600 });
    expect(out.result?.timed_out).toBe(true);
    expect(out.result!.duration_ms).toBeLessThan(5000);
  });

  it("denies with the policy's rule and never runs a denied command", async () => {
    const denyAll: DecideCommand = async () => ({ allow: false, rule: "commands.no_match", reason: "no rule allows this program" });
    const { bridge, audit } = bridgeWith(backend, roots(), { decide: denyAll });
    const out = await bridge.execute({ command: `touch ${join(root, "should-not-exist")}` });
    expect(out).toMatchObject({ allowed: false, rule: "commands.no_match" });
    expect(audit.records[0]).toMatchObject({ decision: "deny", rule: "commands.no_match" });
  });

  it("fails closed when the policy throws", async () => {
    const broken: DecideCommand = async () => {
      throw new Error("boom");
    };
    const { bridge } = bridgeWith(backend, roots(), { decide: broken });
    expect(await bridge.execute({ command: "true" })).toMatchObject({ allowed: false, rule: "commands.error" });
  });

  it("resolves program names with the backend's which on the trusted PATH, not the caller's", async () => {
    const seen: (string | null)[] = [];
    const decide: DecideCommand = async (source, _policy, env) => {
      const path = env.resolveProgram(source.split(" ")[0]!);
      seen.push(path);
      return path ? { allow: true, rule: "test.resolved", reason: "", plan: { kind: "argv", argv: [path, ...source.split(" ").slice(1)] } } : { allow: false, rule: "commands.not_found", reason: "" };
    };
    const { bridge } = bridgeWith(backend, roots(), { decide });
    const out = await bridge.execute({ command: "echo hi" });
    expect(out.result?.stdout).toBe("hi\n");
    expect(seen).toEqual([null, "/usr/bin/echo"]);
    // The answer is remembered: the next call decides in one pass.
    await bridge.execute({ command: "echo again" });
    expect(seen).toEqual([null, "/usr/bin/echo", "/usr/bin/echo"]);
    expect(await bridge.execute({ command: "no-such-program-xyz" })).toMatchObject({ allowed: false, rule: "commands.not_found" });
  });

  it("privileged mode skips the decision (rule privileged), reports it and still audits", async () => {
    const denyAll: DecideCommand = async () => ({ allow: false, rule: "commands.no_match", reason: "" });
    const { bridge, audit } = bridgeWith(backend, roots(), { decide: denyAll, privileged: true });
    expect(bridge.describe()).toMatchObject({ privileged: true, confinement: "bubblewrap", backend: "native" });
    const out = await bridge.execute({ command: "echo priv | tr a-z A-Z" });
    expect(out).toMatchObject({ allowed: true, rule: "privileged" });
    expect(out.result?.stdout).toBe("PRIV\n");
    expect(audit.records.at(-1)).toMatchObject({ phase: "outcome", decision: "allow", rule: "privileged" });
    // Normalization still applies in privileged mode.
    expect(await bridge.execute({ command: "true", working_directory: outside })).toMatchObject({ allowed: false, rule: "execution.working_directory" });
  });

  it("calls onProgress while a foreground command runs", async () => {
    const { bridge } = bridgeWith(backend, roots(), { progressIntervalMs: 200 });
    const messages: string[] = [];
    await bridge.execute({ command: "sleep 1" }, { onProgress: (m) => messages.push(m) });
    expect(messages.length).toBeGreaterThanOrEqual(3);
  });

  it("records the caller's tool name and redacts env values and stdin", async () => {
    const { bridge, audit } = bridgeWith(backend, roots());
    await bridge.execute({ command: "cat", env: { DEBUG: "hunter2" }, stdin: "password123" }, { tool: "api.execute" });
    const rec = audit.records[0]!;
    expect(rec.tool).toBe("api.execute");
    expect(JSON.stringify(rec)).not.toContain("hunter2");
    expect(JSON.stringify(rec)).not.toContain("password123");
  });

  it("uses the roots a call brings (client roots narrow the configured ones)", async () => {
    const { bridge } = bridgeWith(backend, roots());
    const narrowed = join(root, "sub");
    const out = await bridge.execute({ command: "pwd" }, { roots: [{ path: narrowed, writable: true }] });
    expect(out.result?.stdout).toBe(`${narrowed}\n`);
    expect(await bridge.execute({ command: "pwd", working_directory: root }, { roots: [{ path: narrowed, writable: true }] })).toMatchObject({ allowed: false });
  });

  it("refuses commands (rule execution.confinement) when bubblewrap is missing, and audits the refusal", async () => {
    const missing = createNativeBackend({ confinement: "bubblewrap", bwrapSearchPath: ["/nonexistent"] });
    const { bridge, audit } = bridgeWith(missing, roots());
    expect(bridge.describe().confinement).toBe("unavailable");
    expect(await bridge.execute({ command: "true" })).toMatchObject({ allowed: false, rule: "execution.confinement" });
    // The backend refuses when it is asked to run: after the intent, so the outcome says so.
    expect(audit.records.at(-1)).toMatchObject({ phase: "outcome", decision: "deny", rule: "execution.confinement" });
  });

  it("refuses background without a registry and honours max_background", async () => {
    const { bridge } = bridgeWith(backend, roots());
    expect(await bridge.execute({ command: "sleep 5", background: true })).toMatchObject({ allowed: false, rule: "execution.background" });
    const processes = createProcessRegistry({ maxAlive: 1, retainBytes: 4096 });
    const audit = createMemoryAuditSink();
    const b2 = createCommandBridge({ policy: testPolicy(), backend, audit, roots: async () => roots(), decide: (await import("./support.js")).allowEverything, processes });
    const first = await b2.execute({ command: "sleep 5", background: true });
    expect(first.handle).toBeTruthy();
    expect(await b2.execute({ command: "sleep 5", background: true })).toMatchObject({ allowed: false, rule: "execution.max_background" });
    await processes.close();
  });

  it("writes outside nothing even when the policy let a hostile script through", async () => {
    const { bridge } = bridgeWith(backend, roots());
    writeFileSync(join(outside, "canary"), "untouched");
    const out = await bridge.execute({ command: `echo pwned > ${join(outside, "canary")}; cat ${join(outside, "canary")}; rm -rf ${outside}` });
    expect(out.result?.stdout ?? "").not.toContain("untouched");
    const { readFileSync } = await import("node:fs");
    expect(readFileSync(join(outside, "canary"), "utf8")).toBe("untouched");
  });
});
