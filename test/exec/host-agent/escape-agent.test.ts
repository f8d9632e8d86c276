import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { spawnAgent, type AgentProcess } from "../../support/engines/agent-engine.js";
import { requireBinary } from "../../support/engines/require-binary.js";
import { probe, raceProbes, SWAPPER } from "../../support/escape-probes.js";
import { canary, makeTempDir, removeDir, writeTree } from "../../support/tree.js";
import { REPO, startWarden, type WardenClient } from "../../support/warden-client.js";

/** Fewer tries than the native run: every try is two hops (server -> agent -> bubblewrap). */
const TRIES = Number(process.env.WARDEN_ESCAPE_TRIES ?? 100);

/**
 * The red team's escapes of the command sandbox (issue 10, test/server/command-escape.test.ts)
 * through `warden serve --backend host-agent` -> a real `warden agent` process on loopback. The
 * agent's own roots (its flags) and its own policy (the shipped default: python3, mv, mkdir, deny
 * globs) are what confine the command, so the attacks are aimed at them; the server in front allows
 * every program and adds nothing. Each check has a canary outside the roots.
 */
describe.skipIf(process.platform !== "linux")(`host agent red team (warden serve --backend host-agent -> warden agent)${process.platform !== "linux" ? " (skipped: needs Linux)" : ""}`, () => {
  let base: string;
  let secret: string;
  let serverPolicy: string;
  const agents: AgentProcess[] = [];
  const servers: WardenClient[] = [];

  beforeAll(() => {
    // Missing tools fail the file with the package to install; they never skip it.
    requireBinary("bwrap", "bubblewrap");
    requireBinary("python3", "python3");
    base = makeTempDir("warden-escape-agent-");
    secret = canary("AGENT-ESCAPE");
    writeTree(base, { "outside/canary.txt": secret });
    serverPolicy = join(base, "server-policy.json");
    writeFileSync(serverPolicy, JSON.stringify({ commands: { allow: [{ program: "*" }] } }));
  });
  afterAll(async () => {
    for (const w of servers) await w.close().catch(() => {});
    for (const a of agents) await a.stop();
    if (base) removeDir(base);
  });

  const outside = () => join(base, "outside");
  const pwned = () => readdirSync(outside()).filter((n) => n.startsWith("pwned-"));

  /** A real agent with the shipped default policy and `agentArgs` roots, and a server in front of it whose root is `root`. */
  async function serveThroughAgent(root: string, agentArgs: string[]): Promise<{ w: WardenClient; agent: AgentProcess }> {
    const agent = await spawnAgent(base, ["--policy", join(REPO, "policies", "default.json"), ...agentArgs]);
    agents.push(agent);
    const w = await startWarden(["--backend", "host-agent", "--policy", serverPolicy, "--root", root], { env: { HOST_AGENT_URL: agent.url, HOST_AGENT_TOKEN: agent.token }, cwd: root });
    servers.push(w);
    const info = await w.call("get_system_info", {});
    expect((info.structuredContent as { backend?: unknown } | undefined)?.backend).toBe("host-agent");
    return { w, agent };
  }

  it(`a pin swapped for a symlink to / by a background command never binds the host (${TRIES} tries)`, async () => {
    const root = join(base, "a");
    mkdirSync(root);
    const { w, agent } = await serveThroughAgent(root, ["--root", root]);
    // The server's background process is one long request to the agent, running beside the probes.
    const bg = await w.call("execute_command", { command: SWAPPER, background: true, timeout: 600 });
    expect(bg.isError, w.text(bg)).toBeFalsy();
    const handle = (bg.structuredContent as { handle: string }).handle;
    const swaps = () => (existsSync(join(root, "swaps.txt")) ? Number(readFileSync(join(root, "swaps.txt"), "utf8")) : 0);
    const { ran, refused, leaks, rules } = await raceProbes(
      async (command) => {
        const r = await w.call("execute_command", { command });
        return { isError: r.isError === true, text: w.text(r) };
      },
      outside(),
      secret,
      TRIES,
    );
    const swapped = swaps();
    await w.call("kill_process", { handle });
    console.log(`host agent pin swap race: ${TRIES} tries, ${ran} ran, ${refused} refused (${JSON.stringify(Object.fromEntries(rules))}), ${leaks} leaks, >= ${swapped} swaps`);
    expect(swapped, `the swapper must have been swapping during the tries (agent: ${agent.stderr().slice(-500)})`).toBeGreaterThan(0);
    expect(leaks).toBe(0);
    expect(pwned()).toEqual([]);
    expect(ran, "commands still run while the swap goes on").toBeGreaterThan(0);
    // Only the refusals this race can cause, as the agent reports them: its walk and its gate.
    for (const rule of rules.keys()) expect(["host_agent.sandbox.changed", "host_agent.sandbox.mounts"], `agent: ${agent.stderr().slice(-4000)}`).toContain(rule);
  }, 900_000);

  it("a nested read-only root of the agent: its parent cannot be moved from a command, nor replaced by a symlink to /", async () => {
    const root = join(base, "b");
    writeTree(base, { "b/keep.txt": "work\n", "b/sub/ro/ro.txt": "read-only\n" });
    const ro = join(root, "sub", "ro");
    const { w } = await serveThroughAgent(root, ["--root", root, "--read-only", ro]);
    const attack = await w.call("execute_command", { command: `mv sub sub2 && mkdir sub && python3 -c 'import os; os.symlink("/", "sub/ro")'` });
    expect(w.text(attack)).toMatch(/busy/i); // sub is a mount point in every sandbox of the agent
    expect(existsSync(join(root, "sub2"))).toBe(false);
    expect(existsSync(join(ro, "ro.txt"))).toBe(true);
    const write = await w.call("execute_command", { command: `python3 -c 'open("sub/ro/ro.txt", "w").write("pwned")'` });
    expect(w.text(write)).toMatch(/Read-only file system/);
    expect(readFileSync(join(ro, "ro.txt"), "utf8")).toBe("read-only\n");
    const look = await w.call("execute_command", { command: probe(outside(), "nested") });
    expect(w.text(look)).toContain("absent");
    expect(w.text(look)).not.toContain(secret);
    expect(pwned()).toEqual([]);
  });

  it("the agent's nested read-only root moved and replaced by a symlink to / by a host process: refused by name", async () => {
    const root = join(base, "c");
    writeTree(base, { "c/sub/ro/ro.txt": "read-only\n" });
    const ro = join(root, "sub", "ro");
    const { w } = await serveThroughAgent(root, ["--root", root, "--read-only", ro]);
    const before = await w.call("execute_command", { command: "cat sub/ro/ro.txt" });
    expect(w.text(before)).toContain("read-only");
    renameSync(join(root, "sub"), join(root, "sub2"));
    mkdirSync(join(root, "sub"));
    symlinkSync("/", ro);
    for (const command of [probe(outside(), "moved"), `python3 -c 'open("sub2/ro/ro.txt", "w").write("pwned")'`]) {
      const r = await w.call("execute_command", { command });
      expect(r.isError, w.text(r)).toBe(true);
      expect(w.text(r)).toContain("roots.moved");
      expect(w.text(r)).toContain(ro);
      expect(w.text(r)).not.toContain(secret);
    }
    expect(readFileSync(join(root, "sub2", "ro", "ro.txt"), "utf8")).toBe("read-only\n");
    expect(pwned()).toEqual([]);
  });

  it("a directory of 150,000 entries made by a command does not bring the agent down", async () => {
    const root = join(base, "e");
    mkdirSync(root);
    const { w, agent } = await serveThroughAgent(root, ["--root", root]);
    // Symlinks whose names match a deny glob (**/*.key): listed by the deny scan, cheap to make.
    const make = await w.call("execute_command", { command: `python3 -c 'import os; os.mkdir("big"); [os.symlink("t", "big/l%d.key" % i) for i in range(150000)]'`, timeout: 600 });
    expect(make.isError, w.text(make)).toBeFalsy();
    for (const command of ["echo alive", "rm -rf big", "echo alive"]) {
      const r = await w.call("execute_command", { command, timeout: 600 });
      expect(w.text(r), `${command}; agent: ${agent.stderr().slice(-2000)}`).not.toMatch(/execution\.error|ECONNREFUSED|socket hang up/);
      expect(agent.stderr()).not.toContain("exited");
    }
    const last = await w.call("execute_command", { command: "echo alive" });
    expect(w.text(last)).toContain("alive");
  }, 900_000);

  it("the agent's configured root replaced after start is refused by name", async () => {
    const root = join(base, "d");
    writeTree(base, { "d/f.txt": "one\n" });
    const { w } = await serveThroughAgent(root, ["--root", root]);
    const before = await w.call("execute_command", { command: "cat f.txt" });
    expect(w.text(before)).toContain("one");
    renameSync(root, join(base, "d-moved"));
    mkdirSync(root);
    const cmd = await w.call("execute_command", { command: "ls" });
    expect(cmd.isError, w.text(cmd)).toBe(true);
    expect(w.text(cmd)).toContain("roots.moved");
    expect(w.text(cmd)).toContain(root);
  });
});
