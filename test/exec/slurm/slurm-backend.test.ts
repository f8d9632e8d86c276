import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createMemoryAuditSink } from "../../../src/audit/memory-sink.js";
import { createCommandBridge } from "../../../src/exec/bridge.js";
import { createSlurmBackend, type SlurmSettings } from "../../../src/exec/slurm/index.js";
import type { ExecBackend, ExecRequest, ExecResult } from "../../../src/exec/types.js";
import { testPolicy } from "../support.js";
import { startWardenHttp } from "../../e2e/support/warden-process.js";
import { jobs, slurmPolicyFile, startSlurmCluster, type SlurmCluster } from "../../support/engines/slurm-engine.js";
import { canary, makeTempDir, removeDir, writeTree } from "../../support/tree.js";
import { REPO, startWarden } from "../../support/warden-client.js";

/**
 * The slurm backend on the real two-node cluster (scripts/slurm-local.sh): placement on both nodes,
 * stdout/stderr/exit code kept apart, memory and time limits, nothing left running, allocations
 * released and stale ones cancelled, 20 sessions at once, and clear errors for bad input.
 */
describe("slurm backend on a real two-node cluster", () => {
  let cluster: SlurmCluster;
  let base: string;
  let root: string;
  const backends: ExecBackend[] = [];

  beforeAll(() => {
    cluster = startSlurmCluster();
    base = makeTempDir("warden-slurm-");
    root = join(base, "root");
    writeTree(base, { "root/hello.txt": "hello\n", "outside/secret.txt": canary("SLURM") });
  });
  afterAll(async () => {
    for (const b of backends) await b.close().catch(() => {});
    removeDir(base);
  });

  const settings = (jobName: string, extra: Partial<SlurmSettings> = {}): SlurmSettings => ({
    salloc: "salloc",
    srun: "srun",
    scancel: "scancel",
    squeue: "squeue",
    immediateS: 20,
    jobName,
    memoryMb: 300,
    env: { ...process.env, ...cluster.env },
    ...extra,
  });
  const backend = (jobName: string, extra: Partial<SlurmSettings> = {}, warmSessions = 0) => {
    const b = createSlurmBackend({ confinement: "bubblewrap", settings: settings(jobName, extra), watchdogMs: 5000, warmSessions });
    backends.push(b);
    return b;
  };
  const request = (script: string, session: string, more: Partial<ExecRequest> = {}): ExecRequest => ({
    argv: ["/bin/sh"],
    script,
    cwd: root,
    env: { PATH: "/usr/bin:/bin" },
    timeoutMs: 20_000,
    outputCapBytes: 64 * 1024,
    limits: { memoryMb: 2000, processes: 200, cpuS: 60, fileSizeMb: 100, network: false },
    roots: [{ path: root, writable: true }],
    session,
    ...more,
  });
  /** The node a command ran on, as the kernel says: its memory cgroup lies under slurmd's slurm_<node>. */
  const nodeOf = (r: ExecResult) => /memory:\/slurm_([^/]+)\/uid_\d+\/job_(\d+)\//.exec(r.stdout)?.slice(1, 3);
  const procs = (pattern: string) => spawnSync("pgrep", ["-f", pattern], { encoding: "utf8" }).stdout.trim();

  it("keeps exit code, stdout and stderr apart, and runs commands inside the session's job on the node it names", async () => {
    const b = backend("warden-t-basic");
    const r = await b.run(request("cat hello.txt; echo to-err >&2; grep memory /proc/self/cgroup; exit 7", "basic"));
    expect(r.exit_code, JSON.stringify(r)).toBe(7);
    expect(r.stdout).toMatch(/^hello\n/);
    expect(r.stderr).toBe("to-err\n");
    expect(r.stderr + r.stdout).not.toMatch(/srun|slurmstepd/);
    expect(r.placement).toBeDefined();
    expect(nodeOf(r)).toEqual([r.placement!.node, r.placement!.job]);
    expect(r.placement!.cluster).toBe("warden-test");
    expect(b.placement?.("basic")).toEqual(r.placement);
    // The sandbox is the native one: the outside of the root does not exist for the command.
    const look = await b.run(request(`cat ${join(base, "outside", "secret.txt")} 2>&1; ls ${base}`, "basic"));
    expect(look.stdout).not.toContain("SLURM");
    expect(look.stdout).toMatch(/No such file/);
    // Background: output streamed back while it runs, input forwarded, kill ends it.
    const chunks: string[] = [];
    const p = await b.start(request("read line; echo got:$line; sleep 300", "basic", { onOutput: (_s, c) => chunks.push(c) }));
    await p.write("ping\n");
    for (let i = 0; i < 100 && !chunks.join("").includes("got:ping"); i++) await new Promise((r) => setTimeout(r, 50));
    expect(chunks.join("")).toContain("got:ping");
    await p.kill("SIGKILL");
    const end = await p.done;
    expect(end.exit_code).toBeNull();
  }, 180_000);

  it("lands sessions on both nodes, and releases each allocation when its session ends", async () => {
    const b = backend("warden-t-spread");
    const seen = new Map<string, string>();
    for (let i = 0; i < 6 && new Set(seen.values()).size < 2; i++) {
      const r = await b.run(request("grep memory /proc/self/cgroup", `s${i}`));
      expect(r.exit_code, JSON.stringify(r)).toBe(0);
      seen.set(`s${i}`, nodeOf(r)![0]!);
    }
    expect(new Set(seen.values())).toEqual(new Set(cluster.nodes));
    const before = jobs(cluster, "warden-t-spread");
    expect(before.length).toBe(seen.size);
    for (const s of seen.keys()) await b.endSession!(s);
    expect(jobs(cluster, "warden-t-spread").filter((j) => j.state === "RUNNING")).toEqual([]);
  }, 180_000);

  it("a command over the session's memory is killed and the next command still runs; a timed-out command leaves no process", async () => {
    const b = backend("warden-t-limits", { memoryMb: 250 });
    const hog = await b.run(request(`python3 -c 'b = bytearray(600 * 1024 * 1024); print(len(b))'`, "lim"));
    expect(hog.exit_code, JSON.stringify(hog)).not.toBe(0);
    expect(hog.stdout).not.toContain("629145600");
    const next = await b.run(request("echo still-here", "lim"));
    expect(next.stdout).toBe("still-here\n");
    // The warden's own deadline (not Slurm's minute-granular one): the whole tree goes, setsid included.
    const slow = await b.run(request("sleep 3001 & setsid sleep 3002 & sleep 3003", "lim", { timeoutMs: 1000 }));
    expect(slow.timed_out).toBe(true);
    expect(slow.exit_code).toBeNull();
    for (let i = 0; i < 40 && procs("sleep 300[123]"); i++) await new Promise((r) => setTimeout(r, 100));
    expect(procs("sleep 300[123]")).toBe("");
    // A killed background command too.
    const p = await b.start(request("sleep 3004 & sleep 3005", "lim"));
    await p.kill("SIGTERM");
    await p.done;
    for (let i = 0; i < 40 && procs("sleep 300[45]"); i++) await new Promise((r) => setTimeout(r, 100));
    expect(procs("sleep 300[45]")).toBe("");
    // Ending the session cancels the job: its step (the node's agent) is gone.
    const job = b.placement!("lim")!.job;
    await b.endSession!("lim");
    for (let i = 0; i < 40 && procs(`SLURM_JOB_ID=${job}`) ; i++) await new Promise((r) => setTimeout(r, 100));
    expect(jobs(cluster, "warden-t-limits").filter((j) => j.id === job && j.state === "RUNNING")).toEqual([]);
  }, 180_000);

  it("20 concurrent sessions get their own allocations, spread over both nodes", async () => {
    const b = backend("warden-t-twenty", { memoryMb: 150 });
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => b.run(request(`echo session-${i}; grep memory /proc/self/cgroup`, `c${i}`))));
    results.forEach((r, i) => {
      expect(r.exit_code, JSON.stringify(r)).toBe(0);
      expect(r.stdout).toContain(`session-${i}\n`);
    });
    const jobIds = new Set(results.map((r) => r.placement!.job));
    expect(jobIds.size).toBe(20);
    const nodes = results.map((r) => nodeOf(r)![0]);
    console.log(`20 sessions: ${nodes.filter((n) => n === cluster.nodes[0]).length} on ${cluster.nodes[0]}, ${nodes.filter((n) => n === cluster.nodes[1]).length} on ${cluster.nodes[1]}`);
    expect(new Set(nodes)).toEqual(new Set(cluster.nodes));
    await b.close();
    expect(jobs(cluster, "warden-t-twenty").filter((j) => j.state === "RUNNING")).toEqual([]);
    // Nothing left on the nodes: slurmd could remove each job's cgroups, so the node's runner removed
    // the ones it made inside them (a cgroup left there would keep the job's from going).
    const left = () => results.map((r) => `/sys/fs/cgroup/memory/slurm_${r.placement!.node}/uid_${process.getuid!()}/job_${r.placement!.job}`).filter((d) => existsSync(d));
    for (let i = 0; i < 100 && left().length > 0; i++) await new Promise((r) => setTimeout(r, 100));
    expect(left()).toEqual([]);
  }, 300_000);

  it("warm sessions: a new session takes an allocation made before it asked, and another is made ready behind it", async () => {
    const b = backend("warden-t-warm", {}, 1);
    const running = () => jobs(cluster, "warden-t-warm").filter((j) => j.state === "RUNNING");
    for (let i = 0; i < 300 && running().length < 1; i++) await new Promise((r) => setTimeout(r, 100));
    const [spare] = running();
    expect(spare).toBeDefined();
    const r = await b.run(request("echo warm", "w1"));
    expect(r.stdout).toBe("warm\n");
    expect(r.placement!.job).toBe(spare!.id);
    for (let i = 0; i < 300 && running().length < 2; i++) await new Promise((r) => setTimeout(r, 100));
    expect(running().map((j) => j.id)).toContain(spare!.id);
    expect(running()).toHaveLength(2);
    await b.close();
    expect(running()).toEqual([]);
  }, 180_000);

  it("cancels, at start, the allocations an earlier run of this server left behind (and only those)", async () => {
    const name = "warden-t-stale";
    const env = { ...process.env, ...cluster.env };
    const left = spawnSync("salloc", ["--no-shell", "--immediate=20", "-N1", "-n1", "--mem=50M", `--job-name=${name}`, `--comment=mcp-warden host=${(await import("node:os")).hostname()} pid=999999999 start=1`], { env, encoding: "utf8" });
    const other = spawnSync("salloc", ["--no-shell", "--immediate=20", "-N1", "-n1", "--mem=50M", `--job-name=${name}`, "--comment=someone else's job"], { env, encoding: "utf8" });
    const staleId = /Granted job allocation (\d+)/.exec(left.stderr)![1]!;
    const otherId = /Granted job allocation (\d+)/.exec(other.stderr)![1]!;
    const b = backend(name);
    const r = await b.run(request("true", "stale"));
    expect(r.exit_code).toBe(0);
    const now = jobs(cluster, name).map((j) => j.id);
    expect(now).not.toContain(staleId);
    expect(now).toContain(otherId);
    spawnSync("scancel", [otherId], { env });
  }, 180_000);

  it("bad input gets a clear error at the call: unknown partition, more memory than a node has, a cluster that is down", async () => {
    const policy = testPolicy({}, { commands: { allow: [{ program: "true" }] } });
    const run = async (b: ExecBackend) => {
      const bridge = createCommandBridge({ policy, backend: b, audit: createMemoryAuditSink(), roots: async () => [{ path: root, writable: true }] });
      return bridge.execute({ command: "true" }, { session: "bad", owner: "bad" });
    };
    const part = await run(backend("warden-t-bad", { partition: "nope" }));
    expect(part.allowed).toBe(false);
    expect(part.rule).toBe("slurm.allocation");
    expect(part.reason).toMatch(/partition "nope" does not exist.*execution\.slurm\.partition/);
    const mem = await run(backend("warden-t-bad", { memoryMb: 100_000 }));
    expect(mem.reason).toMatch(/no node can grant.*memory_mb 100000/);
    // A cluster that is down: a configuration naming a controller port nobody listens on.
    const conf = join(base, "down.conf");
    writeFileSync(conf, readFileSync(cluster.env.SLURM_CONF!, "utf8").replace(/^SlurmctldPort=\d+$/m, "SlurmctldPort=1"));
    const down = await run(backend("warden-t-bad", { env: { ...process.env, ...cluster.env, SLURM_CONF: conf }, immediateS: 2 }));
    expect(down.allowed).toBe(false);
    expect(down.reason).toMatch(/controller is not reachable|could not grant/);
    console.log(`cluster down: ${down.reason}`);
  }, 180_000);

  it("warden serve --backend slurm: get_system_info names the job and node, the audit record names cluster, job and node", async () => {
    const policy = slurmPolicyFile(base, "serve-policy.json", { memory_mb: 300, job_name: "warden-t-serve" });
    const audit = join(base, "audit.jsonl");
    const w = await startWarden(["--backend", "slurm", "--policy", policy, "--root", root, "--audit-log", audit], { env: cluster.env });
    try {
      const r = await w.call("execute_command", { command: "cat hello.txt" });
      expect(w.text(r), w.stderr()).toContain("hello");
      const info = (await w.call("get_system_info", {})).structuredContent as { backend: string; placement?: { cluster: string; job: string; node: string } };
      expect(info.backend).toBe("slurm");
      expect(info.placement?.cluster).toBe("warden-test");
      expect(cluster.nodes).toContain(info.placement?.node);
      const records = readFileSync(audit, "utf8").trim().split("\n").map((l) => JSON.parse(l) as { tool?: string; phase?: string; placement?: { job: string; node: string; cluster: string } });
      const outcome = records.find((x) => x.tool === "execute_command" && x.phase === "outcome");
      expect(outcome?.placement).toMatchObject({ cluster: "warden-test", job: info.placement!.job, node: info.placement!.node });
    } finally {
      await w.close();
    }
    // The server exited: its allocation went with it.
    expect(jobs(cluster, "warden-t-serve").filter((j) => j.state === "RUNNING")).toEqual([]);
  }, 180_000);

  it("a root the node does not see as the server does (no shared filesystem) is refused with a clear error, nothing runs", async () => {
    // The server runs in a private mount namespace with a tmpfs over the root: the nodes (started
    // outside it) see the directory underneath at the same path, as a node without the shared mount would.
    const root2 = join(base, "unshared");
    writeTree(base, { "unshared/only-on-node.txt": "node\n" });
    const policy = slurmPolicyFile(base, "unshared-policy.json", { memory_mb: 300, job_name: "warden-t-unshared" });
    const transport = new StdioClientTransport({
      command: "unshare",
      args: ["-m", "--propagation", "private", "sh", "-c", 'mount -t tmpfs none "$0" && echo server-side > "$0/only-on-server.txt" && exec "$@"', root2, process.execPath, join(REPO, "dist", "cli", "main.js"), "serve", "--backend", "slurm", "--policy", policy, "--root", root2],
      env: { ...(process.env as Record<string, string>), ...cluster.env },
      stderr: "pipe",
    });
    const client = new Client({ name: "unshared-test", version: "1" });
    await client.connect(transport);
    try {
      const r = (await client.callTool({ name: "execute_command", arguments: { command: "echo pwned > written-by-command.txt; ls" } })) as CallToolResult;
      const text = r.content.map((c) => (c.type === "text" ? c.text : "")).join("\n");
      console.log(`unshared root: ${text}`);
      expect(r.isError).toBe(true);
      expect(text).toContain("slurm.shared_filesystem");
      expect(text).toContain(root2);
      expect(text).toMatch(/does not see the roots as this server does/);
      expect(readdirSync(root2).sort()).toEqual(["only-on-node.txt"]);
    } finally {
      await client.close();
    }
  }, 180_000);

  it("/health names the cluster and each session's job and node (HTTP)", async () => {
    const policy = slurmPolicyFile(base, "http-policy.json", { memory_mb: 300, job_name: "warden-t-http" });
    const h = await startWardenHttp(["--backend", "slurm", "--policy", policy, "--root", root], cluster.env);
    try {
      const exec = await fetch(`${h.url}/api/v1/execute`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ command: "cat hello.txt" }) });
      expect(exec.status, h.stderr()).toBe(200);
      const health = (await (await fetch(`${h.url}/health`)).json()) as { backend: string; cluster?: { cluster?: string; jobs: { job: string; node: string }[] } };
      expect(health.backend).toBe("slurm");
      expect(health.cluster?.cluster).toBe("warden-test");
      expect(health.cluster?.jobs).toHaveLength(1);
      expect(cluster.nodes).toContain(health.cluster!.jobs[0]!.node);
    } finally {
      await h.stop();
    }
  }, 180_000);
});
