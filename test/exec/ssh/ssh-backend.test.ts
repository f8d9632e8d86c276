import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { spawn, spawnSync } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createSshBackend, type SshBackendOptions } from "../../../src/exec/ssh/index.js";
import type { ExecRequest } from "../../../src/exec/types.js";
import { engineUnsupported } from "../../support/engines/require-binary.js";
import { createNetnsHost, ensureTestUser, startSshEngine, type NetnsHost, type SshEngine } from "../../support/engines/ssh-engine.js";

const unsupported = engineUnsupported();
const LIMITS = { memoryMb: 256, processes: 64, cpuS: 60, fileSizeMb: 16, network: false };

describe.skipIf(unsupported !== null)(`ssh backend against a real sshd${unsupported ? ` (skipped: ${unsupported})` : ""}`, () => {
  let engine: SshEngine;
  let root: string;
  let base: string;
  const backends: { close(): Promise<void> }[] = [];
  const make = (over: Partial<SshBackendOptions> = {}) => {
    const b = createSshBackend({ host: engine.host, port: engine.port, user: engine.user, privateKeyPath: engine.privateKeyPath, agent: false, hostKeySha256: engine.hostKeySha256, roots: [root], ...over });
    backends.push(b);
    return b;
  };
  const req = (argv: string[], extra: Partial<ExecRequest> = {}): ExecRequest => ({
    argv,
    cwd: root,
    env: { PATH: "/usr/bin:/bin", LANG: "C" },
    timeoutMs: 10_000,
    outputCapBytes: 64 * 1024,
    limits: LIMITS,
    roots: [{ path: root, writable: true }],
    ...extra,
  });

  beforeAll(async () => {
    engine = await startSshEngine();
    const user = ensureTestUser();
    base = mkdtempSync(join(tmpdir(), "wsr-"));
    chmodSync(base, 0o755);
    root = join(base, "root");
    mkdirSync(root);
    chownSync(root, user.uid, user.gid);
  });
  afterAll(async () => {
    for (const b of backends) await b.close().catch(() => {});
    await engine?.stop();
    rmSync(base, { recursive: true, force: true });
  });

  it("runs a command with separate stdout, stderr and exit code, as the non-root user", async () => {
    const b = make();
    const r = await b.run(req(["/bin/sh", "-c", "echo out; echo err >&2; id -un; exit 4"]));
    expect(r).toMatchObject({ exit_code: 4, stdout: `out\n${engine.user}\n`, stderr: "err\n", timed_out: false, truncated: false });
  });

  it("passes stdin, the working directory and exactly the request's environment", async () => {
    const b = make();
    const r = await b.run(req(["/bin/sh", "-c", "pwd; cat; env | sort"], { stdin: "in put\n", env: { PATH: "/usr/bin:/bin", X: "it's $HOME" } }));
    expect(r.exit_code).toBe(0);
    const lines = r.stdout.split("\n");
    expect(lines.slice(0, 2)).toEqual([root, "in put"]);
    expect(lines).toContain("X=it's $HOME");
    expect(lines.some((l) => l.startsWith("HOME=") || l.startsWith("SSH_"))).toBe(false);
  });

  it("runs an approved script with the shell", async () => {
    const r = await make().run(req(["/bin/sh"], { script: "echo a | tr a b; echo 'q\"uote'" }));
    expect(r).toMatchObject({ exit_code: 0, stdout: 'b\nq"uote\n' });
  });

  it("confines working_directory to the remote roots", async () => {
    await expect(make().run(req(["/bin/true"], { cwd: "/etc" }))).rejects.toThrow(/not inside a remote root/);
    await expect(make().run(req(["/bin/true"], { cwd: `${root}/../..` }))).rejects.toThrow(/not inside a remote root/);
  });

  it("kills the remote process group at the timeout (the process is really gone)", async () => {
    const b = make();
    const marker = `warden-sleep-${process.pid}`;
    const t0 = Date.now();
    const r = await b.run(req(["/bin/sh", "-c", `sleep 300 & exec -a ${marker} sleep 301`], { timeoutMs: 800 }));
    expect(r.timed_out).toBe(true);
    expect(Date.now() - t0).toBeLessThan(5000);
    await new Promise((res) => setTimeout(res, 300));
    const left = (await b.run(req(["/bin/sh", "-c", "ps -u $(id -u) -o args= | grep -c 'sleep 30[01]' || true"]))).stdout.trim();
    expect(left).toBe("0");
  });

  it("queues commands beyond the channel limit instead of failing", async () => {
    const b = make({ maxChannels: 3 });
    const results = await Promise.all(Array.from({ length: 12 }, (_, i) => b.run(req(["/bin/sh", "-c", `sleep 0.2; echo ${i}`]))));
    expect(results.map((r) => r.stdout)).toEqual(Array.from({ length: 12 }, (_, i) => `${i}\n`));
  });

  it("reuses one connection: every command runs under the same sshd connection process", async () => {
    const b = make();
    // The pid of the nearest sshd above the command: one process per SSH connection.
    const connection = ["/bin/sh", "-c", `p=$$; while [ "$p" -gt 1 ]; do [ "$(cat /proc/$p/comm)" = sshd ] && { echo $p; exit 0; }; p=$(cut -d' ' -f4 /proc/$p/stat); done; echo none`];
    const seen = new Set<string>();
    for (let i = 0; i < 10; i++) seen.add((await b.run(req(connection))).stdout.trim());
    expect(seen.size).toBe(1);
    expect([...seen][0]).toMatch(/^\d+$/);
  });

  it("refuses a wrong fingerprint and an unknown host, accepts the known_hosts pin", async () => {
    await expect(make({ hostKeySha256: "SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" }).run(req(["/bin/true"]))).rejects.toThrow(/does not match the pinned fingerprint/);
    const other = join(base, "known_hosts_other");
    writeFileSync(other, "[127.0.0.1]:1 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl\n");
    await expect(make({ hostKeySha256: undefined, knownHosts: other }).run(req(["/bin/true"]))).rejects.toThrow(/is unknown/);
    const changed = join(base, "known_hosts_changed");
    writeFileSync(changed, readFileSync(engine.knownHostsPath, "utf8").replace(/ssh-ed25519 \S+/, "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl"));
    await expect(make({ hostKeySha256: undefined, knownHosts: changed }).run(req(["/bin/true"]))).rejects.toThrow(/CHANGED/);
    await expect(make({ hostKeySha256: undefined }).run(req(["/bin/true"]))).rejects.toThrow(/not pinned/);
    const ok = await make({ hostKeySha256: undefined, knownHosts: engine.knownHostsPath }).run(req(["/bin/echo", "pinned"]));
    expect(ok.stdout).toBe("pinned\n");
  });

  it("authenticates through an ssh-agent (no key file given to the backend)", async () => {
    const sock = join(base, "agent.sock");
    const agent = spawn("ssh-agent", ["-D", "-a", sock], { stdio: "ignore" });
    try {
      for (let i = 0; i < 100 && !existsSync(sock); i++) await new Promise((r) => setTimeout(r, 20));
      const add = spawnSync("ssh-add", [engine.privateKeyPath], { env: { SSH_AUTH_SOCK: sock }, encoding: "utf8" });
      expect(add.status, add.stderr).toBe(0);
      const b = make({ privateKeyPath: undefined, agent: true, env: { SSH_AUTH_SOCK: sock } });
      expect(await b.run(req(["/bin/echo", "via agent"]))).toMatchObject({ exit_code: 0, stdout: "via agent\n" });
      const none = make({ privateKeyPath: undefined, agent: true, env: {} });
      expect((await none.run(req(["/bin/true"]))).error).toMatch(/authentication|auth/i);
    } finally {
      agent.kill();
    }
  });

  it("reconnects after the connection is killed", async () => {
    const b = make();
    expect((await b.run(req(["/bin/echo", "1"]))).stdout).toBe("1\n");
    for (const pid of engine.connectionPids()) process.kill(pid, "SIGKILL");
    await new Promise((res) => setTimeout(res, 200));
    const r = await b.run(req(["/bin/echo", "2"]));
    expect(r).toMatchObject({ exit_code: 0, stdout: "2\n" });
  });

  it("reports a connection lost in the middle of a command as an error result", async () => {
    const b = make();
    const pending = b.run(req(["/bin/sleep", "30"]));
    await new Promise((res) => setTimeout(res, 500));
    for (const pid of engine.connectionPids()) process.kill(pid, "SIGKILL");
    const r = await pending;
    expect(r.error).toMatch(/connection lost/);
    expect((await b.run(req(["/bin/echo", "back"]))).stdout).toBe("back\n");
  });

  it("which() looks only in the trusted path on the remote host", async () => {
    const b = make();
    expect(await b.which("sh", ["/usr/bin", "/bin"])).toMatch(/^\/(usr\/)?bin\/sh$/);
    expect(await b.which("no-such-program-xyz", ["/usr/bin"])).toBeNull();
    expect(await b.which("sh", [])).toBeNull();
  });

  it("start(): a background process with stdin and kill", async () => {
    const b = make();
    const p = await b.start(req(["/bin/cat"]));
    await p.write("abc\n");
    await p.closeStdin();
    expect(await p.done).toMatchObject({ exit_code: 0, stdout: "abc\n" });
    const q = await b.start(req(["/bin/sleep", "100"]));
    await new Promise((res) => setTimeout(res, 300));
    await q.kill("SIGTERM");
    const qr = await q.done;
    expect(qr.signal).toBe("SIGTERM");
    expect(qr.exit_code).toBeNull();
  });

  describe("a second host in a network namespace", () => {
    let ns: NetnsHost;
    let remote: SshEngine;
    beforeAll(async () => {
      ns = createNetnsHost();
      remote = await startSshEngine({ netns: ns.name, listen: ns.address, port: 22 });
    });
    afterAll(async () => {
      await remote?.stop();
      ns?.stop();
    });
    it("runs commands on 10.200.0.2 with its own pinned key", async () => {
      const b = createSshBackend({ host: remote.host, port: remote.port, user: remote.user, privateKeyPath: remote.privateKeyPath, agent: false, knownHosts: remote.knownHostsPath, roots: [root] });
      backends.push(b);
      const r = await b.run(req(["/bin/sh", "-c", "ip -4 -o addr show 2>/dev/null | grep -o '10.200.0.2' || cat /proc/net/fib_trie | grep -o '10.200.0.2' | head -1"], { env: { PATH: "/usr/sbin:/usr/bin:/bin:/sbin" } }));
      expect(r.stdout).toContain("10.200.0.2");
      // The first host's key is not this host's key.
      await expect(make({ host: remote.host, port: remote.port }).run(req(["/bin/true"]))).rejects.toThrow(/does not match/);
      expect(existsSync(remote.knownHostsPath)).toBe(true);
    });
  });
});
