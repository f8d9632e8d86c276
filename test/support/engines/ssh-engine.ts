import { spawn, type ChildProcess } from "node:child_process";
import { createHash } from "node:crypto";
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { connect, createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { requireBinary, requireRoot, sh } from "./require-binary.js";

/** The non-root login the test sshd accepts (created by the setup when missing). */
export const SSH_TEST_USER = "wardentest";

export interface SshEngine {
  host: string;
  port: number;
  user: string;
  privateKeyPath: string;
  /** `SHA256:...` of the host key */
  hostKeySha256: string;
  /** a known_hosts file listing exactly this host and port */
  knownHostsPath: string;
  /** pid of the listening sshd (per-connection children hang below it) */
  pid: number;
  dir: string;
  /** pids of the per-connection sshd processes (to cut a connection in a test) */
  connectionPids(): number[];
  stop(): Promise<void>;
}

export interface SshEngineOptions {
  /** Run inside this network namespace, listening on `listen` (default 127.0.0.1). */
  netns?: string;
  listen?: string;
  port?: number;
}

/** Creates the non-root test user if missing (login shell /bin/sh; unlocked for key-only login). */
export function ensureTestUser(): { uid: number; gid: number } {
  const useradd = requireBinary("useradd", "passwd");
  const passwd = readFileSync("/etc/passwd", "utf8");
  if (!passwd.split("\n").some((l) => l.startsWith(`${SSH_TEST_USER}:`))) {
    try {
      sh(useradd, ["-m", "-s", "/bin/sh", SSH_TEST_USER]);
    } catch (err) {
      // Another test file created it at the same moment (useradd exits 9: already exists).
      if (!/exited 9|already exists/.test((err as Error).message)) throw err;
    }
  }
  // A locked account ("!") is refused by sshd without PAM; "*" allows keys but no password.
  sh(requireBinary("usermod", "passwd"), ["-p", "*", SSH_TEST_USER]);
  const line = readFileSync("/etc/passwd", "utf8").split("\n").find((l) => l.startsWith(`${SSH_TEST_USER}:`))!;
  const [, , uid, gid] = line.split(":");
  return { uid: Number(uid), gid: Number(gid) };
}

/** A TCP port free on 127.0.0.1 right now. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.listen(0, "127.0.0.1", () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
    srv.on("error", reject);
  });
}

/** Whether something on host:port sends an SSH banner within a second. */
export function answersSsh(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host, port });
    s.setTimeout(1000);
    s.once("data", (d) => {
      s.destroy();
      resolve(d.toString().startsWith("SSH-"));
    });
    s.once("error", () => resolve(false));
    s.once("timeout", () => {
      s.destroy();
      resolve(false);
    });
  });
}

/** Resolves once something on host:port sends an SSH banner. */
async function waitForBanner(host: string, port: number, child: ChildProcess, stderr: () => string, netns?: string): Promise<void> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`sshd exited (${child.exitCode ?? child.signalCode}): ${stderr()}`);
    if (await answersSsh(host, port)) return;
    if (Date.now() > deadline) throw new Error(`sshd on ${host}:${port}${netns ? ` (netns ${netns})` : ""} did not answer within 15 s: ${stderr()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * Starts Debian's sshd on 127.0.0.1 (or inside a network namespace) with a fresh ed25519 host key and
 * a fresh user key for the non-root test user: key-only, no PAM, a private config, pid file and
 * authorized-keys directory under a temp dir.
 */
export async function startSshEngine(options: SshEngineOptions = {}): Promise<SshEngine> {
  requireRoot("sshd (test user, host keys)");
  const sshd = requireBinary("sshd", "openssh-server");
  const keygen = requireBinary("ssh-keygen", "openssh-client");
  ensureTestUser();
  mkdirSync("/run/sshd", { recursive: true, mode: 0o755 });
  const dir = mkdtempSync(join(tmpdir(), "ws-"));
  chmodSync(dir, 0o755);
  sh(keygen, ["-q", "-t", "ed25519", "-N", "", "-C", "warden-test-host", "-f", join(dir, "host_ed25519")]);
  sh(keygen, ["-q", "-t", "ed25519", "-N", "", "-C", "warden-test-user", "-f", join(dir, "id_ed25519")]);
  mkdirSync(join(dir, "auth"), { mode: 0o755 });
  writeFileSync(join(dir, "auth", SSH_TEST_USER), readFileSync(join(dir, "id_ed25519.pub")), { mode: 0o644 });
  const host = options.listen ?? "127.0.0.1";
  const port = options.port ?? (await freePort());
  const cfg = join(dir, "sshd_config");
  writeFileSync(
    cfg,
    [
      `ListenAddress ${host}`,
      `Port ${port}`,
      `HostKey ${join(dir, "host_ed25519")}`,
      `PidFile ${join(dir, "sshd.pid")}`,
      `AuthorizedKeysFile ${join(dir, "auth")}/%u`,
      "PasswordAuthentication no",
      "KbdInteractiveAuthentication no",
      "UsePAM no",
      "StrictModes no",
      "PermitRootLogin no",
      `AllowUsers ${SSH_TEST_USER}`,
      "MaxSessions 64",
      "MaxStartups 100",
      "PrintMotd no",
      "PrintLastLog no",
      "LogLevel ERROR",
      "",
    ].join("\n"),
  );
  const [, blob] = readFileSync(join(dir, "host_ed25519.pub"), "utf8").trim().split(/\s+/);
  const hostKeySha256 = `SHA256:${createHash("sha256").update(Buffer.from(blob!, "base64")).digest("base64").replace(/=+$/, "")}`;
  const knownHostsPath = join(dir, "known_hosts");
  writeFileSync(knownHostsPath, `${port === 22 ? host : `[${host}]:${port}`} ssh-ed25519 ${blob}\n`);

  const argv = [sshd, "-D", "-e", "-f", cfg];
  const child = options.netns ? spawn(requireBinary("ip", "iproute2"), ["netns", "exec", options.netns, ...argv], { stdio: ["ignore", "ignore", "pipe"] }) : spawn(argv[0]!, argv.slice(1), { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr?.on("data", (d: Buffer) => (stderr = (stderr + d.toString()).slice(-8000)));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      for (const pid of descendantsOf(child.pid!)) {
        try {
          process.kill(pid, "SIGKILL");
        } catch {
          // gone
        }
      }
      child.kill("SIGTERM");
      await new Promise<void>((resolve) => {
        const t = setTimeout(() => {
          child.kill("SIGKILL");
          resolve();
        }, 5000);
        child.once("exit", () => {
          clearTimeout(t);
          resolve();
        });
      });
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitForBanner(host, port, child, () => stderr, options.netns);
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    host,
    port,
    user: SSH_TEST_USER,
    privateKeyPath: join(dir, "id_ed25519"),
    hostKeySha256,
    knownHostsPath,
    pid: child.pid!,
    dir,
    connectionPids: () => descendantsOf(child.pid!),
    stop,
  };
}

/** Direct children of `pid`, read from /proc. */
export function childrenOf(pid: number): number[] {
  const out: number[] = [];
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (ppid === pid) out.push(Number(name));
    } catch {
      // exited
    }
  }
  return out;
}

/** Every process below `pid`. */
export function descendantsOf(pid: number): number[] {
  const out: number[] = [];
  for (let queue = [pid]; queue.length; ) {
    const kids = childrenOf(queue.shift()!);
    out.push(...kids);
    queue.push(...kids);
  }
  return out;
}

export interface NetnsHost {
  name: string;
  /** address of the namespace side */
  address: string;
  stop(): void;
}

/**
 * A second "host": a network namespace joined to this one by a veth pair, 10.200.0.1/24 here and
 * 10.200.0.2/24 inside. Test traffic only goes to loopback and to namespaces the tests create.
 */
export function createNetnsHost(): NetnsHost {
  requireRoot("a network namespace");
  const ip = requireBinary("ip", "iproute2");
  const tag = `${process.pid % 100000}`;
  const name = `wardenns${tag}`;
  const outer = `wv${tag}a`;
  const inner = `wv${tag}b`;
  const cleanup = () => {
    try {
      sh(ip, ["netns", "del", name]);
    } catch {
      // not there
    }
    try {
      sh(ip, ["link", "del", outer]);
    } catch {
      // went with the namespace
    }
  };
  cleanup();
  try {
    sh(ip, ["netns", "add", name]);
    sh(ip, ["link", "add", outer, "type", "veth", "peer", "name", inner]);
    sh(ip, ["link", "set", inner, "netns", name]);
    sh(ip, ["addr", "add", "10.200.0.1/24", "dev", outer]);
    sh(ip, ["link", "set", outer, "up"]);
    sh(ip, ["netns", "exec", name, "ip", "addr", "add", "10.200.0.2/24", "dev", inner]);
    sh(ip, ["netns", "exec", name, "ip", "link", "set", inner, "up"]);
    sh(ip, ["netns", "exec", name, "ip", "link", "set", "lo", "up"]);
  } catch (err) {
    cleanup();
    throw new Error(`cannot create network namespace ${name} with a veth pair: ${(err as Error).message}`);
  }
  return { name, address: "10.200.0.2", stop: cleanup };
}
