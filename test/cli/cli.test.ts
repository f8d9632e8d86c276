import { spawnSync } from "node:child_process";
import { existsSync, writeFileSync } from "node:fs";
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

  it.each([
    ["no arguments", ["check"], /nothing to check: give --path P, or -- COMMAND/],
    ["an unknown option", ["check", "--bogus"], /unknown option '--bogus'/],
    ["both --path and a command", ["check", "--path", "proj/a.txt", "--", "ls"], /either --path P or -- COMMAND, not both/],
    ["--write without --path", ["check", "--write", "--", "ls"], /--write goes with --path/],
    ["a bad --port", ["serve", "--http", "--port", "notaport"], /argument 'notaport' is invalid/],
    ["a bad --workers", ["serve", "--workers", "abc"], /argument 'abc' is invalid/],
    ["a bad --client-roots", ["serve", "--client-roots", "sometimes"], /argument 'sometimes' is invalid. Allowed choices are intersect, ignore/],
    ["no command", [], /Usage: warden/],
  ])("a usage error (%s) exits 2 and says what is wrong", (_name, args, message) => {
    const r = warden(args);
    expect(r.status, r.stdout + r.stderr).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).not.toContain("NaN");
  });

  it("check -- CMD: allow exits 0, deny exits 1 and names the argument that matched", () => {
    expect(warden(["check", "--root", "proj", "--", "ls"]).status).toBe(0);
    const rm = warden(["check", "--root", "proj", "--", "rm", "-rf", "/"]);
    expect(rm.status).toBe(1);
    expect(rm.stdout).toMatch(/^deny: no-rm-root: rm: argument "\/" matches denied pattern/);
  });

  it("check -- CMD says which named paths the sandbox hides, leaves out or makes read-only, and why", () => {
    // A command runs in the first root: relative paths are judged from there.
    const r = warden(["check", "--root", "proj", "--read-only", "ro", "--", `cat ~/.ssh/id_rsa /etc/shadow .env ${join(dir, "ro/r.txt")} /root/x a.txt`]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^allow: /);
    expect(r.stdout).toContain(`relative paths from ${join(dir, "proj")}): the policy allows the command, but at run time:`);
    expect(r.stdout).toMatch(/~\/\.ssh\/id_rsa: absent: ~ is HOME, which is an empty directory in the sandbox/);
    if (existsSync("/etc/shadow")) expect(r.stdout).toMatch(/\/etc\/shadow: hidden: a host secret/);
    expect(r.stdout).toContain(`.env (${join(dir, "proj/.env")}): hidden: matches filesystem.deny **/.env`);
    expect(r.stdout).toContain(`${join(dir, "ro/r.txt")}: read-only: inside read-only root ${join(dir, "ro")}`);
    expect(r.stdout).toMatch(/\/root\/x: absent: outside the roots/);
    expect(r.stdout).not.toContain("a.txt (");
  });
});
