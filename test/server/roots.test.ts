import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startWarden } from "../support/warden-client.js";
import { makeTempDir, removeDir, writeTree } from "../support/tree.js";

let base: string;
beforeAll(() => {
  base = makeTempDir("warden-roots-");
  writeTree(base, { "a/in.txt": "a", "a/sub/s.txt": "s", "b/b.txt": "b", "c/c.txt": "c" });
});
afterAll(() => removeDir(base));

type Info = { roots: { path: string; access: string; source: string; within?: string }[]; client_roots: { mode: string; offered: string[] | null; problem?: string } };
const rootsOf = (info: unknown) => (info as Info).roots.map(({ path, access }) => ({ path, access }));

describe("MCP roots (SPEC: intersection, never wider)", () => {
  it("client roots narrow the configured roots", async () => {
    const w = await startWarden(["--root", join(base, "a")], { clientRoots: [join(base, "a/sub"), join(base, "b")] });
    try {
      const info = await w.call("get_system_info");
      expect(rootsOf(info.structuredContent)).toEqual([{ path: join(base, "a/sub"), access: "read-write" }]);
      expect((await w.call("read_file", { path: join(base, "a/sub/s.txt") })).isError).toBeFalsy();
      const outside = await w.call("read_file", { path: join(base, "a/in.txt") });
      expect(outside.isError).toBe(true);
      expect((await w.call("read_file", { path: join(base, "b/b.txt") })).isError).toBe(true);
    } finally {
      await w.close();
    }
  });
  it("roots/list_changed is honoured", async () => {
    const w = await startWarden([], { clientRoots: [join(base, "b")] });
    try {
      expect((await w.call("read_file", { path: join(base, "b/b.txt") })).isError).toBeFalsy();
      expect((await w.call("read_file", { path: join(base, "c/c.txt") })).isError).toBe(true);
      await w.setRoots([join(base, "c")]);
      await new Promise((r) => setTimeout(r, 200));
      expect((await w.call("read_file", { path: join(base, "c/c.txt") })).isError).toBeFalsy();
      expect((await w.call("read_file", { path: join(base, "b/b.txt") })).isError).toBe(true);
      expect((await w.call("read_file", { path: "c.txt" })).isError).toBeFalsy();
    } finally {
      await w.close();
    }
  });
  it("without configured or client roots, the working directory is the root", async () => {
    const w = await startWarden([], { cwd: join(base, "c") });
    try {
      const info = await w.call("get_system_info");
      expect(rootsOf(info.structuredContent)).toEqual([{ path: join(base, "c"), access: "read-write" }]);
      expect((await w.call("read_file", { path: "c.txt" })).isError).toBeFalsy();
    } finally {
      await w.close();
    }
  });
  it("a client root wider than the configured one never widens it", async () => {
    const w = await startWarden(["--read-only", join(base, "a/sub")], { clientRoots: [base] });
    try {
      const info = await w.call("get_system_info");
      expect(rootsOf(info.structuredContent)).toEqual([{ path: join(base, "a/sub"), access: "read-only" }]);
    } finally {
      await w.close();
    }
  });
  it("the readonly policy makes every root read-only", async () => {
    const w = await startWarden(["--root", join(base, "b"), "--policy", join(import.meta.dirname, "../../policies/readonly.json")]);
    try {
      const r = await w.call("write_file", { path: "x.txt", content: "x" });
      expect(r.isError).toBe(true);
      expect(w.text(r)).toContain("filesystem.read_only");
    } finally {
      await w.close();
    }
  });
});

describe("client roots that do not overlap the configured roots", () => {
  it("every tool says which roots did not overlap and how to fix it; the server logs it once", async () => {
    const w = await startWarden(["--root", join(base, "a")], { clientRoots: [join(base, "b")] });
    try {
      const read = await w.call("read_file", { path: "in.txt" });
      expect(read.isError).toBe(true);
      const text = w.text(read);
      expect(text).toContain("[rule: roots.none]");
      expect(text).toContain(`client's roots (${join(base, "b")})`);
      expect(text).toContain(`configured roots (${join(base, "a")} (read-write, --root))`);
      expect(text).toContain("intersection is empty");
      expect(text).toContain("--client-roots ignore");
      const run = await w.call("execute_command", { command: "true" });
      expect(w.text(run)).toContain("intersection is empty");
      const info = (await w.call("get_system_info")).structuredContent as Info;
      expect(info.roots).toEqual([]);
      expect(info.client_roots).toMatchObject({ mode: "intersect", offered: [join(base, "b")] });
      expect(info.client_roots.problem).toContain("intersection is empty");
      expect(w.stderr().match(/no roots in this session/g)).toHaveLength(1);
    } finally {
      await w.close();
    }
  });

  it("--client-roots ignore keeps the configured roots whatever the client offers", async () => {
    const w = await startWarden(["--root", join(base, "a"), "--client-roots", "ignore"], { clientRoots: [join(base, "b")] });
    try {
      expect(w.text(await w.call("read_file", { path: "in.txt" }))).toContain("a");
      expect((await w.call("read_file", { path: join(base, "b/b.txt") })).isError).toBe(true);
      const info = (await w.call("get_system_info")).structuredContent as Info;
      expect(info.roots).toEqual([{ path: join(base, "a"), access: "read-write", source: "--root" }]);
      expect(info.client_roots).toEqual({ mode: "ignore", offered: null });
      expect(w.stderr()).toContain("client roots ignored");
    } finally {
      await w.close();
    }
  });

  it("the policy's filesystem.client_roots: ignore does the same; the flag wins over it", async () => {
    const policy = join(base, "ignore-client-roots.json");
    writeFileSync(policy, JSON.stringify({ filesystem: { client_roots: "ignore" } }));
    const w = await startWarden(["--root", join(base, "a"), "--policy", policy], { clientRoots: [join(base, "b")] });
    try {
      expect((await w.call("read_file", { path: "in.txt" })).isError).toBeFalsy();
    } finally {
      await w.close();
    }
    const x = await startWarden(["--root", join(base, "a"), "--policy", policy, "--client-roots", "intersect"], { clientRoots: [join(base, "b")] });
    try {
      expect(x.text(await x.call("read_file", { path: "in.txt" }))).toContain("intersection is empty");
    } finally {
      await x.close();
    }
  });
});

describe("where each root came from (get_system_info and the start-up line)", () => {
  it("names --root, --read-only, policy and client roots, with their access", async () => {
    const policy = join(base, "policy-root.json");
    writeFileSync(policy, JSON.stringify({ filesystem: { roots: [{ path: join(base, "c"), access: "read-only" }] } }));
    const w = await startWarden(["--root", join(base, "a"), "--read-only", join(base, "b"), "--policy", policy], {
      clientRoots: [join(base, "a/sub"), join(base, "b"), join(base, "c")],
    });
    try {
      const info = (await w.call("get_system_info")).structuredContent as Info;
      expect(info.roots).toEqual([
        { path: join(base, "a/sub"), access: "read-write", source: "client", within: join(base, "a") },
        { path: join(base, "b"), access: "read-only", source: "--read-only" },
        { path: join(base, "c"), access: "read-only", source: "policy" },
      ]);
      expect(w.stderr()).toContain(
        `roots: ${join(base, "c")} (read-only, policy), ${join(base, "a")} (read-write, --root), ${join(base, "b")} (read-only, --read-only); client roots can only narrow them`,
      );
    } finally {
      await w.close();
    }
  });

  it("the working directory is named as such when nothing is configured or offered", async () => {
    const w = await startWarden([], { cwd: join(base, "c") });
    try {
      const info = (await w.call("get_system_info")).structuredContent as Info;
      expect(info.roots).toEqual([{ path: join(base, "c"), access: "read-write", source: "cwd" }]);
    } finally {
      await w.close();
    }
  });
});
