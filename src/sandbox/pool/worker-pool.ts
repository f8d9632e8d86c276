import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort } from "node:worker_threads";
import type { ModuleRunResult } from "../types.js";
import type { RunInput } from "../wasi/run-module.js";
import type { SandboxModule } from "../wasi/memory-import.js";
import { Channel, DONE, WAKE, type ReplyInChannel } from "./channel.js";
import type { ReplyMessage, RunMessage } from "./messages.js";
import { workerScript, type WorkerScript } from "./worker-script.js";

/** Exit code reported for a run stopped at its deadline (as timeout(1) does). */
export const TIMEOUT_EXIT_CODE = 124;

interface Job {
  input: RunInput;
  module: SandboxModule;
  deadlineMs: number;
  resolve: (result: ModuleRunResult) => void;
}

interface Slot {
  /** null while the worker script is being prepared. */
  worker: Worker | null;
  /** Runs and replies (channel.ts); `port` announces replies and carries what the channel cannot. */
  channel: Channel;
  port: MessagePort | null;
  /** The worker has loaded and said so; only then does it get runs (and their deadlines start). */
  ready: boolean;
  /** Modules this worker already holds. */
  modules: Set<string>;
  job: { id: number; job: Job; timer: NodeJS.Timeout; started: number } | null;
  dead: boolean;
}

/**
 * A small pool of sandbox workers. Each worker runs one module at a time; calls queue when all
 * are busy. A run past its deadline is stopped with `worker.terminate()` (Node closes the
 * descriptors it held) and a fresh worker takes its place on the next call, so the other workers
 * keep answering meanwhile.
 */
export class WorkerPool {
  private readonly slots: Slot[] = [];
  private readonly queue: Job[] = [];
  private nextId = 1;
  private closed = false;
  private script: Promise<WorkerScript> | null = null;

  constructor(private readonly size: number) {
    if (!Number.isInteger(size) || size < 1) throw new Error(`sandbox workers must be a positive integer (got ${size})`);
  }

  run(input: RunInput, module: SandboxModule, deadlineMs: number): Promise<ModuleRunResult> {
    if (this.closed) return Promise.reject(new Error("the sandbox is closed"));
    this.collect();
    return new Promise((resolve) => {
      this.queue.push({ input, module, deadlineMs, resolve });
      void this.dispatch();
    });
  }

  /** Hands queued jobs to idle workers, starting workers up to `size`. */
  private async dispatch(): Promise<void> {
    while (this.queue.length > 0 && !this.closed) {
      let slot = this.slots.find((s) => s.ready && !s.dead && s.job === null);
      if (!slot) {
        if (this.slots.length >= this.size) return;
        const spawned = await this.spawn();
        if (spawned === null) {
          for (const job of this.queue.splice(0)) job.resolve(failure("EIO: the sandbox worker could not start", 0));
          return;
        }
        if (spawned.job !== null || spawned.dead) continue;
        slot = spawned;
      }
      const job = this.queue.shift();
      if (!job) return;
      this.start(slot, job);
    }
  }

  private async spawn(): Promise<Slot | null> {
    const slot: Slot = { worker: null, channel: new Channel(), port: null, ready: false, modules: new Set(), job: null, dead: false };
    this.slots.push(slot);
    let worker: Worker;
    try {
      this.script ??= workerScript();
      const script = await this.script;
      // trackUnmanagedFds: a worker killed mid-run has its fs descriptors closed by Node. (Closing
      // them ourselves afterwards would be wrong: the numbers may already belong to another thread.)
      const { port1, port2 } = new MessageChannel();
      slot.port = port1;
      port1.on("message", (msg: ReplyMessage | ReplyInChannel) => this.onPortMessage(slot, msg));
      // Never keeps the process alive itself: a running job refs its worker and its deadline timer.
      port1.unref();
      worker = new Worker(script.url, {
        workerData: { ...script.data, channel: slot.channel.buffer, port: port2 },
        transferList: [port2],
        trackUnmanagedFds: true,
      });
    } catch {
      this.script = null;
      this.retire(slot);
      return null;
    }
    slot.worker = worker;
    if (this.closed || slot.dead) {
      this.retire(slot);
      await worker.terminate().catch(() => 0);
      return null;
    }
    worker.unref();
    const ready = await new Promise<boolean>((resolve) => {
      const done = (ok: boolean) => {
        worker.off("message", onMessage).off("error", onFail).off("exit", onFail);
        resolve(ok);
      };
      const onMessage = (msg: ReplyMessage) => done("ready" in msg);
      const onFail = () => done(false);
      worker.on("message", onMessage).on("error", onFail).on("exit", onFail);
    });
    if (!ready || this.closed || slot.dead) {
      this.retire(slot);
      await worker.terminate().catch(() => 0);
      return null;
    }
    slot.ready = true;
    worker.on("error", (err) => void this.onCrash(slot, `EIO: the sandbox worker failed: ${err.message}`));
    worker.on("exit", () => void this.onCrash(slot, "EIO: the sandbox worker exited"));
    return slot;
  }

  private start(slot: Slot, job: Job): void {
    const id = this.nextId++;
    const msg: RunMessage = { id, input: job.input };
    if (!slot.modules.has(job.input.name)) {
      msg.wasm = job.module;
      slot.modules.add(job.input.name);
    }
    const timer = setTimeout(() => void this.onDeadline(slot), Math.max(1, job.deadlineMs));
    slot.job = { id, job, timer, started: performance.now() };
    slot.worker!.ref();
    const words = slot.channel.words;
    if (!slot.channel.putRequest(msg)) slot.port!.postMessage(msg);
    Atomics.add(words, WAKE, 1);
    Atomics.notify(words, WAKE);
  }

  /**
   * Takes every reply a worker has finished (its DONE word names the slot's run) without waiting
   * for the port message that announces it, and hands that worker its next run. A busy event loop
   * reaches port messages once per turn, which under load is tens of milliseconds: the workers
   * would sit idle that long between runs. Called on every run (the sandbox calls it for
   * main-thread runs too); the port message stays the way a reply is taken when nothing else runs.
   */
  collect(): void {
    for (const slot of [...this.slots]) {
      const current = slot.job;
      if (current === null || slot.dead || Atomics.load(slot.channel.words, DONE) !== current.id) continue;
      const reply = slot.channel.takeReply() ?? this.portReply(slot, current.id);
      if (reply !== null) this.onReply(slot, reply);
    }
  }

  /** The reply to run `id` from the slot's port, taken now; earlier runs' leftover notices are dropped. */
  private portReply(slot: Slot, id: number): ReplyMessage | null {
    for (;;) {
      const got = receiveMessageOnPort(slot.port!) as { message: ReplyMessage | ReplyInChannel } | undefined;
      if (got === undefined) return null;
      const msg = got.message;
      if (!("inChannel" in msg) && !("ready" in msg) && msg.id === id) return msg;
    }
  }

  /** A message on the slot's port: a reply, or word that the reply is in the channel. */
  private onPortMessage(slot: Slot, msg: ReplyMessage | ReplyInChannel): void {
    if ("inChannel" in msg) {
      if (slot.dead || slot.job?.id !== msg.inChannel) return;
      const reply = slot.channel.takeReply();
      if (reply === null) this.finish(slot, failure("EIO: the sandbox worker's reply is missing", performance.now() - slot.job.started));
      else this.onReply(slot, reply);
      return;
    }
    this.onReply(slot, msg);
  }

  private finish(slot: Slot, result: ModuleRunResult): void {
    const current = slot.job;
    if (!current) return;
    clearTimeout(current.timer);
    slot.job = null;
    if (!slot.dead) slot.worker?.unref();
    current.job.resolve(result);
    void this.dispatch();
  }

  private onReply(slot: Slot, msg: ReplyMessage): void {
    if ("ready" in msg || slot.job?.id !== msg.id) return;
    this.finish(slot, "result" in msg ? msg.result : failure(`EIO: ${msg.error}`, performance.now() - slot.job.started));
  }

  private async onDeadline(slot: Slot): Promise<void> {
    const current = slot.job;
    if (!current || slot.dead) return;
    const elapsed = performance.now() - current.started;
    await this.kill(slot);
    this.finish(slot, {
      exitCode: TIMEOUT_EXIT_CODE,
      stdout: new Uint8Array(),
      stderr: `ETIMEDOUT: the module did not finish within ${current.job.deadlineMs} ms and was stopped\n`,
      denials: [],
      timedOut: true,
      durationMs: elapsed,
    });
  }

  private async onCrash(slot: Slot, message: string): Promise<void> {
    if (slot.dead) return;
    const current = slot.job;
    await this.kill(slot);
    if (current) this.finish(slot, failure(message, performance.now() - current.started));
    else void this.dispatch();
  }

  /** Stops a worker (Node closes the host descriptors it still held). */
  private async kill(slot: Slot): Promise<void> {
    if (slot.dead) return;
    this.retire(slot);
    try {
      await slot.worker?.terminate();
    } catch {
      // already stopped
    }
  }

  private retire(slot: Slot): void {
    slot.dead = true;
    slot.port?.close();
    const i = this.slots.indexOf(slot);
    if (i >= 0) this.slots.splice(i, 1);
  }

  /** Stops every worker; queued and running calls resolve as failures. */
  async close(): Promise<void> {
    this.closed = true;
    for (const job of this.queue.splice(0)) job.resolve(failure("EIO: the sandbox was closed", 0));
    await Promise.all(
      [...this.slots].map(async (slot) => {
        const current = slot.job;
        await this.kill(slot);
        if (current) this.finish(slot, failure("EIO: the sandbox was closed", performance.now() - current.started));
      }),
    );
  }

  /** Workers alive now (for tests and get_system_info). */
  get workerCount(): number {
    return this.slots.filter((s) => !s.dead).length;
  }
}

function failure(stderr: string, durationMs: number): ModuleRunResult {
  return { exitCode: 1, stdout: new Uint8Array(), stderr: stderr + "\n", denials: [], timedOut: false, durationMs };
}
