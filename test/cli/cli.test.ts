import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CLI } from "../support/warden-client.js";
import { makeTempDir, removeDir, writeTree } from "../support/tree.js";

let dir: string;
beforeAll(() => {
  dir = makeTempDir("warden-cli-");
  writeTree(dir, { "proj/a.txt": "a", "proj/.env": "SECRET=1", "ro/r.txt": "r", "proj/out": { link: "../ro" } });
  writeFileSync(join(dir, "bad-policy.json"), JSON.stringify({ filesystem: { roots: [{ path: "/x", access: "everything" }] } }));
});
afterAll(() => removeDir(dir));

const warden = (args: string[], opts: { input?: string; env?: Record<string, string> } = {}) =>
  spawnSync(process.execPath, [CLI, ...args], { cwd: dir, encoding: "utf8", timeout: 30_000, input: opts.input ?? "", env: { ...process.env, ...opts.env } });

describe("warden CLI", () => {
  it("--version and --help", () => {
    const v = warden(["--version"]);
    expect(v.status).toBe(0);
    expect(v.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
    const h = warden(["--help"]);
    expect(h.status).toBe(0);
    for (const cmd of ["serve", "check"]) expect(h.stdout).toContain(cmd);
    expect(warden(["serve", "--help"]).stdout).toContain("--read-only <dir>");
  });

  it("serve refuses an invalid policy, naming the field", () => {
    const r = warden(["serve", "--policy", "bad-policy.json"]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("filesystem.roots[0].access");
  });

  it.each([
    ["--dangerously-skip-policy", ["--dangerously-skip-policy"], {}],
    ["--backend privileged", ["--backend", "privileged"], {}],
    ["EXECUTION_MODE=privileged", [], { EXECUTION_MODE: "privileged" }],
    ["EXECUTION_MODE=Privileged (any case)", [], { EXECUTION_MODE: " Privileged " }],
  ] as const)("privileged mode via %s warns loudly at start", (_name, args, env) => {
    const r = warden(["serve", "--root", "proj", ...args], { env });
    expect(r.stderr).toContain("WARNING: privileged mode");
  });

  it("no warning without privileged mode", () => {
    expect(warden(["serve", "--root", "proj"]).stderr).not.toContain("WARNING");
  });

  it("serve refuses a root that does not exist", () => {
    const r = warden(["serve", "--root", "nope"]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/root .*nope: does not exist/);
  });

  it("check --path resolves through the sandbox and names the rule", () => {
    const ok = warden(["check", "--root", "proj", "--path", "proj/a.txt"]);
    expect(ok.stdout).toMatch(/^allow: /);
    expect(ok.status).toBe(0);
    const env = warden(["check", "--root", "proj", "--path", "proj/.env"]);
    expect(env.status).toBe(1);
    expect(env.stdout).toContain("filesystem.deny");
    const out = warden(["check", "--root", "proj", "--path", "proj/out/r.txt"]);
    expect(out.status).toBe(1);
    expect(out.stdout).toMatch(/sandbox\.escape|roots\.outside/);
    const ro = warden(["check", "--read-only", "ro", "--path", "ro/r.txt", "--write"]);
    expect(ro.status).toBe(1);
    expect(ro.stdout).toContain("filesystem.read_only");
    const newFile = warden(["check", "--root", "proj", "--path", "proj/new.txt", "--write"]);
    expect(newFile.status, newFile.stdout + newFile.stderr).toBe(0);
  });
});
