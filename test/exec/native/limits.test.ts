import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createNativeBackend } from "../../../src/exec/native/index.js";
import type { ExecBackend } from "../../../src/exec/types.js";
import { cleanup, processesInGroup, processesWith, request, script, tempDir } from "../support.js";

const modes = [
  ["bubblewrap", true],
  ["none", true],
  ["bubblewrap", false],
] as const;

describe.each(modes)("native backend limits (confinement %s, cgroups %s)", (confinement, cgroups) => {
  let backend: ExecBackend;
  let root: string;
  beforeAll(() => {
    backend = createNativeBackend({ confinement, killGraceMs: 500, cgroups });
    root = tempDir("limits");
  });
  afterAll(async () => {
    await backend.close();
    cleanup(root);
  });

  // Orderings, not clocks: the command ran (its first line came out) and never ends by itself (a
  // loop, and a sleep of a day behind it), so a result at all means its deadline stopped it.
  it("stops a runaway loop at its deadline and leaves no process behind", async () => {
    const marker = `warden-loop-${randomBytes(4).toString("hex")}`;
    const proc = await backend.start(script(root, `echo started; exec /bin/sh -c 'sleep 86400 & while :; do :; done' ${marker}`, { timeoutMs: 1000 }));
    const result = await proc.done;
    expect(result.timed_out).toBe(true);
    expect(result.exit_code).toBeNull();
    expect(result.stdout).toBe("started\n");
    expect(processesWith(marker)).toEqual([]);
    expect(processesInGroup(proc.pid!)).toEqual([]);
  });

  it.skipIf(!cgroups)("gives the command the grace period after TERM", async () => {
    const result = await backend.run(script(root, "trap 'echo got-term; exit 7' TERM; while :; do sleep 0.05; done", { timeoutMs: 500 }));
    expect(result.timed_out).toBe(true);
    expect(result.stdout).toBe("got-term\n");
  });

  it("truncates an output flood, keeping head and tail, with bounded memory", async () => {
    global.gc?.();
    const before = process.memoryUsage().rss;
    const result = await backend.run(request(root, ["/usr/bin/yes", "flood"], { timeoutMs: 3000, outputCapBytes: 1024 * 1024 }));
    const growth = process.memoryUsage().rss - before;
    expect(result.timed_out).toBe(true);
    expect(result.truncated).toBe(true);
    expect(result.stdout.startsWith("flood\nflood\n")).toBe(true);
    expect(result.stdout.trimEnd().endsWith("flood")).toBe(true);
    expect(result.stdout).toMatch(/\[\.\.\. \d+ bytes truncated \.\.\.\]/);
    expect(Buffer.byteLength(result.stdout)).toBeLessThan(1024 * 1024 + 200);
    // The flood is gigabytes; the server keeps about the cap.
    expect(growth).toBeLessThan(200 * 1024 * 1024);
  });

  // As root without cgroups there is no process limit at all (the kernel exempts uid 0 from
  // RLIMIT_NPROC): the bomb would only be stopped by the timeout, at the machine's expense.
  it.skipIf(!cgroups && process.getuid?.() === 0)("stops a fork bomb at the process limit and cleans it up", async () => {
    const marker = `warden-bomb-${randomBytes(4).toString("hex")}`;
    const bomb = `exec /bin/sh -c 'b() { b | b & }; b; sleep 1000' ${marker}`;
    const result = await backend.run(script(root, bomb, { timeoutMs: 3000, limits: { memoryMb: 1024, processes: 32, cpuS: 30, fileSizeMb: 16, network: false } }));
    expect(result.exit_code === null || result.exit_code !== 0 || result.timed_out).toBe(true);
    await new Promise((r) => setTimeout(r, 200));
    expect(processesWith(marker)).toEqual([]);
    // The machine still runs processes afterwards.
    const after = await backend.run(request(root, ["/bin/echo", "alive"]));
    expect(after.stdout).toBe("alive\n");
  });

  it("enforces the file size limit", async () => {
    const result = await backend.run(script(root, "head -c 3000000 /dev/zero > big; ls -l big | awk '{print $5}'", { limits: { memoryMb: 1024, processes: 64, cpuS: 30, fileSizeMb: 1, network: false } }));
    expect(Number(result.stdout.trim())).toBeLessThanOrEqual(1024 * 1024);
  });

  it("runs a plain command", async () => {
    expect(await backend.run(request(root, ["/bin/echo", "ok"]))).toMatchObject({ exit_code: 0, stdout: "ok\n" });
  });

  it("enforces the memory limit", async () => {
    const result = await backend.run(request(root, ["/usr/bin/python3", "-c", "x = bytearray(400 * 1024 * 1024); print('allocated')"], { limits: { memoryMb: 128, processes: 64, cpuS: 30, fileSizeMb: 16, network: false } }));
    expect(result.stdout).not.toContain("allocated");
    expect(result.exit_code).not.toBe(0);
  });

  it("passes stdin and reports exit codes", async () => {
    const result = await backend.run(script(root, "cat; exit 3", { stdin: "hello input" }));
    expect(result.stdout).toBe("hello input");
    expect(result.exit_code).toBe(3);
  });

  it("kills on cancellation", async () => {
    // Cancelled once it runs; a sleep of a day ends here only because it was killed.
    const ac = new AbortController();
    const proc = await backend.start(request(root, ["/bin/sleep", "86400"], { signal: ac.signal }));
    ac.abort();
    const result = await proc.done;
    expect(result.error).toBe("cancelled");
    expect(result.exit_code).toBeNull();
    expect(result.timed_out).toBe(false);
    expect(processesInGroup(proc.pid!)).toEqual([]);
  });
});
