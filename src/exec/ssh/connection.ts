import { readFileSync } from "node:fs";
import { connect as netConnect } from "node:net";
import { Client, type ClientChannel } from "ssh2";
import { verifyHostKey } from "./host-key.js";

export interface SshTarget {
  host: string;
  port: number;
  user: string;
  privateKeyPath?: string;
  /** Authenticate with the ssh-agent at SSH_AUTH_SOCK. */
  agent: boolean;
  /** known_hosts file path. */
  knownHosts?: string;
  /** `SHA256:...` fingerprint of the host key. */
  hostKeySha256?: string;
  env?: NodeJS.ProcessEnv;
  connectTimeoutMs?: number;
  /** Channels open at once on the connection (sshd's MaxSessions is 10 by default). Default 8. */
  maxChannels?: number;
}

/** How a remote command ended: its status, or the signal that killed it (`SIGTERM`). */
export interface RemoteExit {
  code: number | null;
  signal: string | null;
}

/** A refusal to talk to the host: the key was not the pinned one. Never retried. */
export class HostKeyError extends Error {
  override name = "HostKeyError";
}

/**
 * One reused SSH connection (TCP_NODELAY: without it an exec round trip costs ~50 ms instead of ~8).
 * Opened on first use, reopened on the next use after a drop. The host key is checked against the
 * pins before authentication; a mismatch is a HostKeyError with the reason.
 */
export class SshConnection {
  private current: Promise<Client> | undefined;
  private readonly clients = new Set<Client>();
  private channels = 0;
  private readonly waiting: (() => void)[] = [];
  private readonly maxChannels: number;

  constructor(private readonly target: SshTarget) {
    this.maxChannels = target.maxChannels ?? 8;
  }

  get(): Promise<Client> {
    return (this.current ??= this.open());
  }

  /**
   * Opens a channel running `command`; reconnects once when the connection was found dead. The
   * exit status is captured synchronously in the open callback: a short command's whole answer
   * can arrive in one packet, and `exit` is an event that nobody would be listening for yet.
   */
  async exec(command: string, opts: { unqueued?: boolean } = {}): Promise<{ channel: ClientChannel; exit: Promise<RemoteExit | undefined> }> {
    // Kill commands skip the queue (they use the spare sessions above maxChannels): a timeout
    // must not wait behind the very commands it is stopping.
    if (opts.unqueued) return this.open1(command);
    await this.acquire();
    try {
      const opened = await this.open1(command);
      opened.channel.once("close", () => this.release());
      return opened;
    } catch (err) {
      this.release();
      throw err;
    }
  }

  /** sshd allows MaxSessions (default 10) channels per connection: more wait for a free one. */
  private async acquire(): Promise<void> {
    if (this.channels < this.maxChannels) {
      this.channels++;
      return;
    }
    await new Promise<void>((resolve) => this.waiting.push(resolve));
  }

  private release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.channels--;
  }

  private async open1(command: string): Promise<{ channel: ClientChannel; exit: Promise<RemoteExit | undefined> }> {
    for (let attempt = 0; ; attempt++) {
      const client = await this.get();
      try {
        return await new Promise((resolve, reject) => {
          client.exec(command, (err, channel) => {
            if (err) return reject(err);
            const exit = new Promise<RemoteExit | undefined>((done) => {
              channel.once("exit", (code: number | null, signal?: string) => done({ code: typeof code === "number" ? code : null, signal: signal ? `SIG${signal.replace(/^SIG/, "")}` : null }));
              channel.once("close", () => done(undefined));
            });
            resolve({ channel, exit });
          });
        });
      } catch (err) {
        if (attempt > 0 || !/not connected|no response|connection lost|closed/i.test((err as Error).message)) throw err;
        this.drop(client);
      }
    }
  }

  /** Forgets a connection (after a drop); the next call reconnects. */
  drop(client?: Client): void {
    if (!client || this.clients.has(client)) {
      for (const c of client ? [client] : [...this.clients]) {
        c.end();
        c.destroy();
        this.clients.delete(c);
      }
      this.current = undefined;
    }
  }

  async close(): Promise<void> {
    this.drop();
  }

  private open(): Promise<Client> {
    const t = this.target;
    const env = t.env ?? process.env;
    const knownHosts = t.knownHosts !== undefined ? readFileSync(t.knownHosts, "utf8") : undefined;
    const pins = { host: t.host, port: t.port, ...(t.hostKeySha256 ? { fingerprint: t.hostKeySha256 } : {}), ...(knownHosts !== undefined ? { knownHosts } : {}) };
    return new Promise<Client>((resolve, reject) => {
      const client = new Client();
      let refusal: string | undefined;
      let ready = false;
      const sock = netConnect({ host: t.host, port: t.port });
      sock.setNoDelay(true);
      const timer = setTimeout(() => fail(new Error(`ssh ${t.user}@${t.host}:${t.port}: no answer within ${t.connectTimeoutMs ?? 10_000} ms`)), t.connectTimeoutMs ?? 10_000);
      const fail = (err: Error) => {
        clearTimeout(timer);
        if (this.current && !ready) this.current = undefined;
        client.destroy();
        sock.destroy();
        reject(refusal ? new HostKeyError(`ssh ${t.user}@${t.host}:${t.port}: ${refusal}`) : err);
      };
      client.on("ready", () => {
        ready = true;
        clearTimeout(timer);
        this.clients.add(client);
        resolve(client);
      });
      client.on("error", (err) => {
        if (!ready) fail(new Error(`ssh ${t.user}@${t.host}:${t.port}: ${err.message}`));
      });
      client.on("close", () => {
        this.clients.delete(client);
        if (ready) void this.current?.then((c) => c === client && (this.current = undefined));
      });
      sock.on("error", (err) => {
        if (!ready) fail(new Error(`ssh ${t.host}:${t.port}: ${err.message}`));
      });
      try {
        client.connect({
          sock,
          username: t.user,
          ...(t.privateKeyPath ? { privateKey: readFileSync(t.privateKeyPath) } : {}),
          ...(t.agent && env.SSH_AUTH_SOCK ? { agent: env.SSH_AUTH_SOCK } : {}),
          hostVerifier: (key: Buffer) => {
            const verdict = verifyHostKey(key, pins);
            if (!verdict.ok) refusal = verdict.reason;
            return verdict.ok;
          },
          readyTimeout: t.connectTimeoutMs ?? 10_000,
          keepaliveInterval: 15_000,
          keepaliveCountMax: 3,
        });
      } catch (err) {
        fail(err as Error);
      }
    });
  }
}
