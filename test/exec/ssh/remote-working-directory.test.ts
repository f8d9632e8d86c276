import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createMemoryAuditSink } from "../../../src/audit/memory-sink.js";
import { createCommandBridge } from "../../../src/exec/bridge.js";
import { createSshBackend } from "../../../src/exec/ssh/index.js";
import { shellQuote } from "../../../src/exec/shell-quote.js";
import type { CommandBridge, ExecuteArgs } from "../../../src/exec/types.js";
import { engineUnsupported } from "../../support/engines/require-binary.js";
import { ensureTestUser, startSshEngine, SSH_TEST_USER, type SshEngine } from "../../support/engines/ssh-engine.js";
import { testPolicy } from "../support.js";
import { startPrivateMountSshd } from "./private-mount-sshd.js";

const unsupported = engineUnsupported();
const ODD = "it's $(touch pwned) dir";

/**
 * working_directory over ssh is resolved ON the remote host and confined by execution.ssh.roots.
 * The "remote host" is an sshd in its own mount namespace: its roots and symlinks live on a tmpfs
 * the test process (the server's machine) cannot see, so a local realpath could not pass a single
 * case here. The server's own (local) root is a real directory that the remote roots do not name.
 */
describe.skipIf(unsupported !== null)(`ssh: working_directory resolved on the remote host${unsupported ? ` (skipped: ${unsupported})` : ""}`, () => {
  let engine: SshEngine;
  let remote: { port: number; stop(): Promise<void> };
  let base: string;
  let localRoot: string;
  let mnt: string;
  let remoteRoot: string;
  const bridges: CommandBridge[] = [];
  const bridge = (roots: string[], readOnlyRoots: string[] = []) => {
    const backend = createSshBackend({ host: engine.host, port: remote.port, user: engine.user, privateKeyPath: engine.privateKeyPath, agent: false, hostKeySha256: engine.hostKeySha256, roots, readOnlyRoots });
    const b = createCommandBridge({
      policy: testPolicy({}, { commands: { allow: [{ program: "pwd" }, { program: "echo" }, { program: "cat" }, { program: "ls" }], trusted_path: ["/usr/bin", "/bin"] } }),
      backend,
      audit: createMemoryAuditSink(),
      roots: async () => [{ path: localRoot, writable: true }],
    });
    bridges.push(b);
    return b;
  };
  let b: CommandBridge;
  const run = (args: ExecuteArgs) => b.execute(args, { roots: [{ path: localRoot, writable: true }] });

  beforeAll(async () => {
    engine = await startSshEngine();
    base = mkdtempSync(join(tmpdir(), "wsw-"));
    chmodSync(base, 0o755);
    localRoot = join(base, "local-root");
    mkdirSync(localRoot);
    const user = ensureTestUser();
    chownSync(localRoot, user.uid, user.gid);
    mnt = join(base, "mnt");
    mkdirSync(mnt);
    remoteRoot = join(mnt, "remote-root");
    const q = shellQuote;
    remote = await startPrivateMountSshd(
      engine,
      [
        `mount -t tmpfs -o mode=755 warden-remote ${q(mnt)}`,
        `mkdir -p ${q(`${remoteRoot}/sub/deeper`)} ${q(`${remoteRoot}/${ODD}`)} ${q(`${mnt}/beside`)}`,
        `ln -s /etc ${q(`${remoteRoot}/link-out`)}`,
        `ln -s ../beside ${q(`${remoteRoot}/link-up`)}`,
        `ln -s sub/deeper ${q(`${remoteRoot}/link-in`)}`,
        `ln -s remote-root ${q(`${mnt}/root-link`)}`,
        `chown -R ${SSH_TEST_USER} ${q(remoteRoot)}`,
      ].join("\n"),
    );
    b = bridge([remoteRoot]);
  });
  afterAll(async () => {
    for (const x of bridges) await x.close().catch(() => {});
    await remote?.stop();
    await engine?.stop();
    if (base) rmSync(base, { recursive: true, force: true });
  });

  it("the remote roots really exist only on the remote side", () => {
    expect(existsSync(remoteRoot)).toBe(false);
  });

  it("runs in a remote root that does not exist locally (default: the first remote root)", async () => {
    expect(await run({ command: "pwd" })).toMatchObject({ allowed: true, result: { exit_code: 0, stdout: `${remoteRoot}\n` } });
    expect(await run({ command: "pwd", working_directory: `${remoteRoot}/sub` })).toMatchObject({ allowed: true, result: { stdout: `${remoteRoot}/sub\n` } });
  });

  it("resolves a relative working_directory under the first remote root", async () => {
    expect(await run({ command: "pwd", working_directory: "sub/deeper" })).toMatchObject({ allowed: true, result: { stdout: `${remoteRoot}/sub/deeper\n` } });
    expect(await run({ command: "pwd", working_directory: "." })).toMatchObject({ allowed: true, result: { stdout: `${remoteRoot}\n` } });
  });

  it("refuses remote paths outside the remote roots with the rule, and the local root too", async () => {
    for (const wd of ["/etc", "/", mnt, `${mnt}/beside`, localRoot]) {
      const out = await run({ command: "pwd", working_directory: wd });
      expect(out, wd).toMatchObject({ allowed: false, rule: "execution.ssh.roots" });
      expect(out.result).toBeUndefined();
    }
  });

  it("follows symlinks on the remote host: one pointing outside is refused, one inside runs canonically", async () => {
    expect(await run({ command: "pwd", working_directory: "link-out" })).toMatchObject({ allowed: false, rule: "execution.ssh.roots" });
    expect(await run({ command: "pwd", working_directory: `${remoteRoot}/link-up` })).toMatchObject({ allowed: false, rule: "execution.ssh.roots" });
    expect(await run({ command: "pwd", working_directory: "link-in" })).toMatchObject({ allowed: true, result: { stdout: `${remoteRoot}/sub/deeper\n` } });
  });

  it("refuses `..` escapes, relative and absolute", async () => {
    for (const wd of ["..", "sub/../..", "sub/../../beside", `${remoteRoot}/..`, `${remoteRoot}/sub/../../beside`, "link-in/../../.."]) {
      expect(await run({ command: "pwd", working_directory: wd }), wd).toMatchObject({ allowed: false, rule: "execution.ssh.roots" });
    }
    expect(await run({ command: "pwd", working_directory: "sub/deeper/.." })).toMatchObject({ allowed: true, result: { stdout: `${remoteRoot}/sub\n` } });
  });

  it("refuses a directory missing on the remote host, and NUL or newline in the path", async () => {
    expect(await run({ command: "pwd", working_directory: "nope" })).toMatchObject({ allowed: false, rule: "execution.working_directory" });
    for (const wd of ["sub\nx", "sub\0x", "sub\rx"]) expect((await run({ command: "pwd", working_directory: wd })).allowed, JSON.stringify(wd)).toBe(false);
  });

  it("quotes the path: a directory name with quotes and $(...) is entered, nothing is executed", async () => {
    const out = await run({ command: "pwd", working_directory: ODD });
    expect(out).toMatchObject({ allowed: true, result: { stdout: `${remoteRoot}/${ODD}\n` } });
    expect((await run({ command: "ls", working_directory: ODD })).result?.stdout).toBe("");
    expect((await run({ command: "ls" })).result?.stdout.split("\n")).not.toContain("pwned");
    expect((await run({ command: "ls", working_directory: "sub" })).result?.stdout.split("\n")).not.toContain("pwned");
  });

  it("canonicalizes a symlinked remote root there: the policy sees the canonical roots and cwd", async () => {
    const viaLink = bridge([join(mnt, "root-link")]);
    const out = await viaLink.execute({ command: "pwd", working_directory: "sub" });
    expect(out).toMatchObject({ allowed: true, result: { stdout: `${remoteRoot}/sub\n` } });
    const write = await viaLink.execute({ command: "echo hi > made.txt && cat made.txt", working_directory: "sub" });
    expect(write).toMatchObject({ allowed: true, result: { exit_code: 0, stdout: "hi\n" } });
  });

  it("redirects are judged against the remote roots and the remote cwd", async () => {
    expect(await run({ command: "echo hi > out.txt && cat out.txt", working_directory: "sub" })).toMatchObject({ allowed: true, result: { stdout: "hi\n" } });
    expect(await run({ command: `echo hi > ${remoteRoot}/sub/abs.txt` })).toMatchObject({ allowed: true, result: { exit_code: 0 } });
    expect(await run({ command: `echo hi > ${localRoot}/x.txt` })).toMatchObject({ allowed: false, rule: expect.stringContaining("redirect_outside_roots") });
    expect(await run({ command: "echo hi > ../../beside/x.txt", working_directory: "sub" })).toMatchObject({ allowed: false, rule: expect.stringContaining("redirect_outside_roots") });
    expect(existsSync(join(localRoot, "x.txt"))).toBe(false);
  });

  it("a read-only remote root confines working_directory and refuses redirects into it", async () => {
    const ro = bridge([remoteRoot], [`${mnt}/beside`]);
    expect(await ro.execute({ command: "pwd", working_directory: `${remoteRoot}/link-up` })).toMatchObject({ allowed: true, result: { stdout: `${mnt}/beside\n` } });
    expect(await ro.execute({ command: "echo hi > x.txt", working_directory: `${mnt}/beside` })).toMatchObject({ allowed: false, rule: expect.stringContaining("redirect_read_only_root") });
  });

  it("a remote root that is missing there leaves no root; several roots each confine", async () => {
    expect(await bridge([join(mnt, "missing")]).execute({ command: "pwd" })).toMatchObject({ allowed: false, rule: "execution.no_root" });
    const two = bridge([join(mnt, "missing"), remoteRoot]);
    expect(await two.execute({ command: "pwd", working_directory: `${remoteRoot}/sub` })).toMatchObject({ allowed: true, result: { stdout: `${remoteRoot}/sub\n` } });
  });

  it("refuses (never runs locally) when the remote host cannot be asked: wrong key, no answer", async () => {
    const policy = testPolicy({}, { commands: { allow: [{ program: "pwd" }], trusted_path: ["/usr/bin", "/bin"] } });
    const local = async () => [{ path: localRoot, writable: true }];
    const wrongKey = createSshBackend({ host: engine.host, port: remote.port, user: engine.user, privateKeyPath: engine.privateKeyPath, agent: false, hostKeySha256: "SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", roots: [remoteRoot] });
    const closed = createSshBackend({ host: "127.0.0.1", port: 1, user: engine.user, privateKeyPath: engine.privateKeyPath, agent: false, hostKeySha256: engine.hostKeySha256, roots: [remoteRoot] });
    for (const [backend, rule] of [[wrongKey, "execution.ssh.host_key"], [closed, "execution.ssh.connection"]] as const) {
      const x = createCommandBridge({ policy, backend, audit: createMemoryAuditSink(), roots: local });
      bridges.push(x);
      expect(await x.execute({ command: "pwd" })).toMatchObject({ allowed: false, rule });
    }
  });

  it("check_command_exists judges with the remote roots", async () => {
    expect(await b.checkProgram("pwd", { roots: [{ path: localRoot, writable: true }] })).toMatchObject({ exists: true, allowed: true });
  });
});
