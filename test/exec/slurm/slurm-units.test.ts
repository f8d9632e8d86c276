import { mkdirSync, statSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { afterAll, describe, expect, it } from "vitest";
import { ownCgroups } from "../../../src/exec/native/limits.js";
import { runNode } from "../../../src/exec/slurm/node-runner.js";
import { MARKER_PREFIX, parseFrame, type FromNode, type HoldRoot } from "../../../src/exec/slurm/protocol.js";
import { explainSallocError, ownerTag, sallocArgs, tagAlive, type SlurmSettings } from "../../../src/exec/slurm/slurm-cli.js";
import { makeTempDir, removeDir } from "../../support/tree.js";

const settings: SlurmSettings = { salloc: "salloc", srun: "srun", scancel: "scancel", squeue: "squeue", immediateS: 10, jobName: "mcp-warden", env: {} };

describe("slurm backend units", () => {
  const base = makeTempDir("warden-slurm-units-");
  afterAll(() => removeDir(base));

  it("asks salloc for exactly what the policy sets, and nothing else (cluster defaults otherwise)", () => {
    expect(sallocArgs(settings, "T")).toEqual(["--no-shell", "--immediate=10", "-N1", "-n1", "--job-name=mcp-warden", "--comment=T"]);
    expect(sallocArgs({ ...settings, partition: "p", account: "a", constraint: "c", cpus: 2, memoryMb: 512, timeMinutes: 30 }, "T").slice(6)).toEqual([
      "--partition=p",
      "--account=a",
      "--constraint=c",
      "--cpus-per-task=2",
      "--mem=512M",
      "--time=30",
    ]);
  });

  it.each([
    ["salloc: error: invalid partition specified: nope\nsalloc: error: Job submit/allocate failed: Invalid partition name specified", /partition "nope" does not exist.*execution\.slurm\.partition/],
    ["salloc: error: Memory specification can not be satisfied\nsalloc: error: Job submit/allocate failed: Requested node configuration is not available", /no node can grant this allocation \(execution\.slurm\.memory_mb 100000 MB\)/],
    ["salloc: Pending job allocation 7\nsalloc: error: Unable to allocate resources: Requested node configuration is not available", /no node can grant/],
    ["salloc: Pending job allocation 7\nsalloc: job 7 queued and waiting for resources\nsalloc: error: Unable to allocate resources: Resources", /could not grant it within 10 s \(--immediate\)/],
    ["salloc: error: Job submit/allocate failed: Unable to contact slurm controller (connect failure)", /controller is not reachable.*SLURM_CONF/],
  ])("explains salloc's refusal %#", (stderr, fix) => {
    const text = explainSallocError({ code: 1, stdout: "", stderr }, { ...settings, partition: "nope", memoryMb: 100_000 });
    expect(text).toMatch(/^Slurm refused the session's allocation: /);
    expect(text).toMatch(fix);
  });

  it("an owner tag is alive while its process is; a dead pid or another start time is stale; another host's is not ours to judge", () => {
    expect(tagAlive(ownerTag())).toBe(true);
    expect(tagAlive(`mcp-warden host=${hostname()} pid=999999999 start=1`)).toBe(false);
    expect(tagAlive(ownerTag().replace(/start=\S+/, "start=1"))).toBe(false);
    expect(tagAlive("mcp-warden host=some-other-login-node pid=1 start=1")).toBe(true);
  });

  it("reads its own memory and pids cgroups (v1) to nest command cgroups in a Slurm step's", () => {
    const text = "9:name=systemd:/\n8:pids:/\n6:freezer:/slurm_n1/uid_0/job_4/step_0\n4:memory:/slurm_n1/uid_0/job_4/step_0/task_0\n0::/\n";
    expect(ownCgroups(text)).toEqual({ pids: "/", memory: "/slurm_n1/uid_0/job_4/step_0/task_0" });
    expect(ownCgroups("0::/user.slice\n")).toEqual({});
  });

  it("frames: only JSON objects with a type are frames", () => {
    expect(parseFrame('{"t":"ready","id":1}')).toEqual({ t: "ready", id: 1 });
    for (const line of ["srun: error: Node failure on node1", "{not json", '{"id":1}', "[1]"]) expect(parseFrame(line)).toBeNull();
  });

  it("the node refuses a root whose marker is missing or differs, or whose times differ, and holds the right one", async () => {
    const input = new PassThrough();
    const frames: FromNode[] = [];
    const done = runNode({ confinement: "bubblewrap", input, send: (f) => frames.push(f), env: { SLURMD_NODENAME: "n1", SLURM_JOB_ID: "4", SLURM_STEP_ID: "0", SLURM_WORKING_CLUSTER: "c:127.0.0.1:1" } });
    const dir = (name: string) => {
      const p = join(base, name);
      mkdirSync(p);
      return { path: p, ino: String(statSync(p).ino) };
    };
    const hold = async (id: number, roots: HoldRoot[]) => {
      input.write(`${JSON.stringify({ t: "hold", id, roots })}\n`);
      for (let i = 0; i < 100 && !frames.some((f) => f.t === "held" && f.id === id); i++) await new Promise((r) => setTimeout(r, 10));
      return frames.find((f) => f.t === "held" && f.id === id) as Extract<FromNode, { t: "held" }>;
    };
    const good = dir("good");
    writeFileSync(join(good.path, `${MARKER_PREFIX}a`), "right");
    const missing = dir("missing");
    const wrong = dir("wrong");
    writeFileSync(join(wrong.path, `${MARKER_PREFIX}b`), "other");
    const times = dir("times");
    const st = statSync(times.path);
    expect(await hold(1, [{ ...missing, marker: { name: `${MARKER_PREFIX}a`, content: "right" } }])).toMatchObject({ ok: false, error: expect.stringMatching(/marker file the server wrote .* is not there.*shared at the same path/) });
    expect(await hold(2, [{ ...wrong, marker: { name: `${MARKER_PREFIX}b`, content: "right" } }])).toMatchObject({ ok: false, error: expect.stringMatching(/marker file differs/) });
    expect(await hold(3, [{ ...good, ino: "1", marker: { name: `${MARKER_PREFIX}a`, content: "right" } }])).toMatchObject({ ok: false, error: expect.stringMatching(/another directory on this node/) });
    expect(await hold(4, [{ ...times, times: { mtimeMs: st.mtimeMs - 5000, ctimeMs: st.ctimeMs } }])).toMatchObject({ ok: false, error: expect.stringMatching(/modification times differ/) });
    expect(await hold(5, [{ ...good, marker: { name: "../x", content: "right" } }])).toMatchObject({ ok: false, error: expect.stringMatching(/bad marker name/) });
    expect(await hold(6, [{ ...good, marker: { name: `${MARKER_PREFIX}a`, content: "right" } }, { ...times, times: { mtimeMs: st.mtimeMs, ctimeMs: st.ctimeMs } }])).toEqual({ t: "held", id: 6, ok: true });
    expect(frames[0]).toMatchObject({ t: "hello", node: "n1", job: "4", step: "0", cluster: "c:127.0.0.1:1" });
    input.end();
    await done;
  });
});
