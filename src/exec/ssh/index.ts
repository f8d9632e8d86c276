import { ExecRefusal } from "../errors.js";
import type { EffectiveRoot } from "../../policy/roots.js";
import type { BackendProcess, ExecBackend, ExecRequest, ExecResult, ResolvedWorkingDirectory } from "../types.js";
import { HostKeyError, SshConnection, type SshTarget } from "./connection.js";
import { failedResult, OutputCollector } from "../output/output-collector.js";
import { buildResolveCommand, checkRootPins, cwdWithinRoots, decideResolved } from "./remote-roots.js";
import { buildKillCommand, buildRemoteCommand, PID_MARKER } from "./remote-command.js";
import { shellQuote } from "../shell-quote.js";

export { HostKeyError } from "./connection.js";

export interface SshBackendOptions extends SshTarget {
  /** Remote roots confining working_directory (policy execution.ssh.roots); empty: the local roots. */
  roots: string[];
  /**
   * Remote roots the command policy treats as read-only (redirects into them are denied); they
   * confine working_directory like `roots`. Only the remote user's permissions enforce it there.
   */
  readOnlyRoots?: string[];
  killGraceMs?: number;
  /** How long resolving working_directory on the remote host may take. Default 10 s. */
  resolveTimeoutMs?: number;
}

/**
 * Runs commands on another host over one reused SSH connection. The remote host is the
 * confinement boundary: this backend pins its key, resolves the working directory on the remote
 * host and confines it to the remote roots (remote-roots.ts), passes exactly the request's
 * environment and kills the remote process group on timeout.
 * Limits other than time are the remote host's business (see the guide).
 */
export function createSshBackend(options: SshBackendOptions): ExecBackend & { connection: SshConnection } {
  const connection = new SshConnection(options);
  const killGraceMs = options.killGraceMs ?? 2000;
  const live = new Set<BackendProcess>();
  const configuredRoots: EffectiveRoot[] = [
    ...options.roots.map((path) => ({ path, writable: true })),
    ...(options.readOnlyRoots ?? []).filter((p) => !options.roots.includes(p)).map((path) => ({ path, writable: false })),
  ];
  const configured = configuredRoots.map((r) => r.path);
  /** Remote canonical spellings of the configured roots, learned when resolving (for launch's last check). */
  const canonicalRoots = new Set<string>();
  /** Where each root first resolved on the remote host (remote-roots.ts checkRootPins). */
  let pins = new Map<string, string>();

  /** Runs a short script on the connection and collects its stdout; a hung one is closed after timeoutMs. */
  async function capture(script: string, timeoutMs = options.resolveTimeoutMs ?? 10_000): Promise<{ code: number | null; stdout: string }> {
    const { channel, exit } = await connection.exec(script);
    channel.end();
    return new Promise((resolve) => {
      const chunks: Buffer[] = [];
      const timer = setTimeout(() => channel.close(), timeoutMs);
      channel.on("data", (d: Buffer) => chunks.push(d));
      channel.stderr.resume();
      channel.on("close", async () => {
        clearTimeout(timer);
        resolve({ code: (await exit)?.code ?? null, stdout: Buffer.concat(chunks).toString("utf8") });
      });
    });
  }

  async function resolveWorkingDirectory(path: string | undefined, roots: EffectiveRoot[]): Promise<ResolvedWorkingDirectory> {
    const plan = buildResolveCommand(path, roots.map((r) => r.path));
    if (!plan.ok) return plan;
    let answer: { code: number | null; stdout: string };
    try {
      answer = await capture(plan.command);
    } catch (err) {
      if (err instanceof HostKeyError) return { ok: false, rule: "execution.ssh.host_key", reason: err.message };
      return { ok: false, rule: "execution.ssh.connection", reason: `cannot resolve working_directory on the remote host: ${(err as Error).message}` };
    }
    const resolved = decideResolved(answer, roots);
    if (!resolved.ok) return resolved;
    const pinned = checkRootPins(roots.map((r) => r.path), resolved.roots, pins);
    if (!pinned.ok) return pinned;
    pins = pinned.pins;
    for (const r of resolved.roots) if ([r.path, ...(r.aliases ?? [])].some((p) => configured.includes(p))) canonicalRoots.add(r.path);
    return resolved;
  }

  async function signalGroup(pid: number, signal: string): Promise<void> {
    const { channel: ch } = await connection.exec(buildKillCommand(pid, signal), { unqueued: true });
    ch.resume();
    ch.stderr.resume();
    ch.end();
  }

  async function launch(request: ExecRequest, interactive: boolean): Promise<BackendProcess> {
    const roots = configured.length ? [...configured, ...canonicalRoots] : request.roots.map((r) => r.path);
    if (!cwdWithinRoots(request.cwd, roots)) {
      throw new ExecRefusal("execution.ssh.roots", `working directory ${request.cwd} is not inside a remote root (${roots.join(", ") || "none configured"})`);
    }
    const { channel, exit: exited } = await connection.exec(buildRemoteCommand(request));
    const output = new OutputCollector(request);
    let pid: number | undefined;
    let pending: Buffer | null = Buffer.alloc(0);
    channel.on("data", (chunk: Buffer) => output.push("stdout", chunk));
    channel.stderr.on("data", (chunk: Buffer) => {
      if (pending === null) return output.push("stderr", chunk);
      pending = Buffer.concat([pending, chunk]);
      const nl = pending.indexOf(10);
      if (nl < 0 && pending.length < 64) return;
      const line = pending.subarray(0, nl < 0 ? pending.length : nl).toString();
      const rest = pending.subarray(nl < 0 ? pending.length : nl + 1);
      pending = null;
      if (line.startsWith(PID_MARKER)) pid = Number(line.slice(PID_MARKER.length));
      else output.push("stderr", Buffer.from(line + "\n"));
      if (rest.length) output.push("stderr", rest);
    });
    if (request.stdin !== undefined) channel.write(request.stdin);
    if (!interactive) channel.end();

    let finished = false;
    let killed = false;
    let timedOut = false;
    const kill = async (signal: NodeJS.Signals = "SIGTERM") => {
      if (finished) return;
      killed = true;
      if (pid) await signalGroup(pid, signal);
      else channel.signal(signal.replace(/^SIG/, ""));
    };
    const timers: NodeJS.Timeout[] = [];
    const stop = () => {
      void kill("SIGTERM").catch(() => {});
      timers.push(setTimeout(() => void kill("SIGKILL").catch(() => {}), killGraceMs));
      // Whatever happens remotely, the caller gets its answer: close the channel.
      timers.push(setTimeout(() => channel.close(), killGraceMs + 3000));
    };
    timers.push(
      setTimeout(() => {
        timedOut = true;
        stop();
      }, request.timeoutMs),
    );
    const onAbort = () => stop();
    request.signal?.addEventListener("abort", onAbort, { once: true });

    const done = new Promise<ExecResult>((resolve) => {
      channel.on("close", async () => {
        const exit = await exited;
        finished = true;
        for (const t of timers) clearTimeout(t);
        request.signal?.removeEventListener("abort", onAbort);
        if (pending && pending.length) output.push("stderr", pending);
        // A shell reports death by signal n of its command as 128+n; only read it so when we killed.
        let signal = exit?.signal ?? null;
        let code = exit?.code ?? null;
        if (!signal && killed && code !== null && code > 128 && code < 160) {
          signal = code === 137 ? "SIGKILL" : code === 143 ? "SIGTERM" : null;
          if (signal) code = null;
        }
        resolve(
          output.result({
            exit_code: signal ? null : code,
            signal,
            timed_out: timedOut,
            ...(exit === undefined && !timedOut && !killed ? { error: "ssh connection lost before the command finished" } : {}),
          }),
        );
      });
    });
    const proc: BackendProcess = {
      get pid() {
        return pid;
      },
      write: async (input) => {
        channel.write(input);
      },
      closeStdin: async () => {
        channel.end();
      },
      kill,
      done,
    };
    live.add(proc);
    void done.finally(() => live.delete(proc));
    return proc;
  }

  return {
    name: "ssh",
    connection,
    describe() {
      const pin = options.hostKeySha256 ? "fingerprint" : "known_hosts";
      return { backend: "ssh", confinement: "remote host", detail: `${options.user}@${options.host}:${options.port}; host key pinned by ${pin}` };
    },
    async run(request) {
      const started = Date.now();
      try {
        return await (await launch(request, false)).done;
      } catch (err) {
        if (err instanceof ExecRefusal) throw err;
        if (err instanceof HostKeyError) throw new ExecRefusal("execution.ssh.host_key", err.message);
        return failedResult((err as Error).message, started);
      }
    },
    async start(request) {
      try {
        return await launch(request, true);
      } catch (err) {
        if (err instanceof HostKeyError) throw new ExecRefusal("execution.ssh.host_key", err.message);
        throw err;
      }
    },
    roots: () => configuredRoots.map((r) => ({ ...r })),
    resolveWorkingDirectory,
    async which(program, trustedPath) {
      if (program.includes("/") && !program.startsWith("/")) return null;
      const candidates = program.startsWith("/") ? [program] : trustedPath.filter((d) => d.startsWith("/")).map((d) => `${d.replace(/\/+$/, "")}/${program}`);
      if (!candidates.length) return null;
      const script = `for f in ${candidates.map(shellQuote).join(" ")}; do if [ -f "$f" ] && [ -x "$f" ]; then printf %s "$f"; exit 0; fi; done; exit 1`;
      const { code, stdout } = await capture(script);
      return code === 0 && stdout.startsWith("/") ? stdout : null;
    },
    async close() {
      await Promise.all([...live].map((p) => p.kill("SIGKILL").catch(() => {})));
      await connection.close();
    },
  };
}
