import { spawn, type ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";
import { parseFrame, type FromNode, type ToNode } from "./protocol.js";

type Hello = Extract<FromNode, { t: "hello" }>;

/** Keeps the last bytes srun and slurmstepd said on stderr (their errors, never command output). */
const DIAG_MAX = 4096;

/**
 * One long job step per session (`srun --jobid=J --overlap`), running node-main.js on the
 * allocated node; frames go over the step's stdin and stdout. The step ending for any reason (the
 * node failed, an admin's scancel, the time limit) fails every pending call with srun's own words:
 * srun exits 0 on "Node failure", so the end of the step is what is checked, never its exit code.
 */
export class SessionStep {
  private readonly sub: ChildProcess;
  private readonly waiters = new Map<number, (f: FromNode) => void>();
  private diagnostics = "";
  private nextId = 1;
  private endedWith: string | undefined;
  private readonly endListeners = new Set<(why: string) => void>();
  readonly hello: Promise<Hello>;

  constructor(srun: string, args: string[], env: NodeJS.ProcessEnv) {
    this.sub = spawn(srun, args, { env, stdio: ["pipe", "pipe", "pipe"] });
    this.sub.stdin!.on("error", () => {});
    this.sub.stderr!.on("data", (c: Buffer) => {
      this.diagnostics = (this.diagnostics + c.toString("utf8")).slice(-DIAG_MAX);
    });
    let onHello: (h: Hello) => void = () => {};
    this.hello = new Promise<Hello>((resolve, reject) => {
      onHello = resolve;
      this.endListeners.add((why) => reject(new Error(why)));
    });
    this.hello.catch(() => undefined);
    const lines = createInterface({ input: this.sub.stdout!, crlfDelay: Infinity });
    lines.on("line", (line) => {
      const f = parseFrame<FromNode>(line);
      if (!f) {
        // Not a frame: the node's process printed something; keep it with the diagnostics.
        if (line.trim()) this.diagnostics = `${this.diagnostics}${line}\n`.slice(-DIAG_MAX);
        return;
      }
      if (f.t === "hello") return onHello(f);
      this.waiters.get(f.id)?.(f);
    });
    const ended = (code: number | null, signal: NodeJS.Signals | null) => {
      if (this.endedWith) return;
      const said = this.diagnostics.trim().split("\n").filter((l) => /error|fail|cancel|kill|expired|denied|invalid/i.test(l)).slice(-3).join("; ");
      this.endedWith = `the session's Slurm step ended (srun ${signal ? `killed by ${signal}` : `exit ${code}`}${said ? `: ${said}` : ""})`;
      for (const l of this.endListeners) l(this.endedWith);
      this.endListeners.clear();
    };
    this.sub.on("exit", ended);
    this.sub.on("error", (err) => {
      this.diagnostics += `${err.message}\n`;
      ended(null, null);
    });
  }

  /** Why the step is gone, or undefined while it runs. */
  get ended(): string | undefined {
    return this.endedWith;
  }

  get pid(): number | undefined {
    return this.sub.pid;
  }

  /** Calls `fn` once when the step ends (at once if it already has). Returns an unsubscribe. */
  onEnd(fn: (why: string) => void): () => void {
    if (this.endedWith) {
      fn(this.endedWith);
      return () => {};
    }
    this.endListeners.add(fn);
    return () => this.endListeners.delete(fn);
  }

  /** A fresh id with `onFrame` receiving every frame for it until `forget(id)`. */
  open(onFrame: (f: FromNode) => void): number {
    const id = this.nextId++;
    this.waiters.set(id, onFrame);
    return id;
  }

  forget(id: number): void {
    this.waiters.delete(id);
  }

  send(frame: ToNode): void {
    if (this.endedWith || !this.sub.stdin?.writable) return;
    this.sub.stdin.write(`${JSON.stringify(frame)}\n`);
  }

  /** Sends one frame and resolves with the first answer to it (or rejects when the step ends first). */
  request<T extends FromNode>(build: (id: number) => ToNode): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      let off = () => {};
      const id = this.open((f) => {
        off();
        this.forget(id);
        resolve(f as T);
      });
      off = this.onEnd((why) => {
        this.forget(id);
        reject(new Error(why));
      });
      this.send(build(id));
    });
  }

  /** Ends the step: its input closes (the node kills what runs and exits); SIGKILL to srun alone cancels the step if it lingers. */
  async stop(graceMs = 3000): Promise<void> {
    if (this.endedWith) return;
    this.sub.stdin?.end();
    const gone = new Promise<void>((r) => this.onEnd(() => r()));
    const timer = setTimeout(() => this.sub.kill("SIGKILL"), graceMs);
    await gone;
    clearTimeout(timer);
  }
}
