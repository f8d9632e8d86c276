import { describe, expect, it } from "vitest";
import { limitsPrologue, type CommandCgroups } from "../../../src/exec/native/limits.js";

const limits = { memoryMb: 512, processes: 64, cpuS: 30, fileSizeMb: 8, network: false };
const cgroups: CommandCgroups = { procsFiles: ["/cg/memory/warden/x/cgroup.procs", "/cg/pids/warden/x/cgroup.procs"], pids: () => [], dispose: async () => {} };

describe("limitsPrologue", () => {
  it("joins the cgroups first, then sets CPU and file size, then execs", () => {
    const p = limitsPrologue(limits, cgroups, { memory: "/cg/memory/warden", pids: "/cg/pids/warden" }, "/usr/bin/prlimit");
    expect(p).toBe(
      "echo $$ > '/cg/memory/warden/x/cgroup.procs' && echo $$ > '/cg/pids/warden/x/cgroup.procs' && ulimit -t 30 && ulimit -f 16384 && exec \"$@\"",
    );
  });

  it("falls back to prlimit for memory and processes without cgroups", () => {
    const p = limitsPrologue(limits, undefined, {}, "/usr/bin/prlimit");
    expect(p).toContain(`exec '/usr/bin/prlimit' --as=${512 * 1024 * 1024} --nproc=64 -- "$@"`);
  });

  it("refuses to run when nothing can limit memory and processes", () => {
    const p = limitsPrologue(limits, undefined, {}, null);
    expect(p).toMatch(/exit 126$/);
    expect(p).not.toContain("exec");
  });

  it("joins steps with && so a failed step stops the command", () => {
    const p = limitsPrologue(limits, cgroups, { memory: "/m", pids: "/p" }, null);
    expect(p.split(" && ").length).toBe(5);
  });
});
