import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { createCommandCgroups, detectCgroups } from "../../../src/exec/native/limits.js";

const bases = detectCgroups();
const limits = { memoryMb: 64, processes: 32, cpuS: 5, fileSizeMb: 1, network: false };

describe.skipIf(!bases.memory || !bases.pids)("createCommandCgroups (writable cgroup v1)", () => {
  it("writes the limits and removes the directories at dispose", async () => {
    const id = `${process.pid}-test-${Date.now()}`;
    const cg = await createCommandCgroups(bases, id, limits);
    expect(readFileSync(join(bases.memory!, id, "memory.limit_in_bytes"), "utf8").trim()).toBe(String(64 * 1024 * 1024));
    expect(readFileSync(join(bases.pids!, id, "pids.max"), "utf8").trim()).toBe("32");
    expect(cg.procsFiles).toEqual([join(bases.memory!, id, "cgroup.procs"), join(bases.pids!, id, "cgroup.procs")]);
    await cg.dispose();
    expect(existsSync(join(bases.memory!, id))).toBe(false);
    expect(existsSync(join(bases.pids!, id))).toBe(false);
  });

  it("fails, leaving nothing behind, when one controller cannot be set up", async () => {
    const id = `${process.pid}-test-fail-${Date.now()}`;
    await expect(createCommandCgroups({ memory: bases.memory!, pids: "/nonexistent-warden-cgroup" }, id, limits)).rejects.toThrow();
    expect(existsSync(join(bases.memory!, id))).toBe(false);
  });
});
