import { parentPort, receiveMessageOnPort, workerData, type MessagePort } from "node:worker_threads";
import { DoorCache } from "../host/door-cache.js";
import { localFdTracker } from "../host/fd-tracker.js";
import type { SandboxModule } from "../wasi/memory-import.js";
import { MemoryRecycler } from "../wasi/memory-recycler.js";
import { PreparedInstance } from "../wasi/prepared-instance.js";
import { runModule, RUNTIME_IMPORTS } from "../wasi/run-module.js";
import { DenyRulesCache } from "./deny-rules-cache.js";
import { Channel, DONE, WAKE, type ReplyInChannel } from "./channel.js";
import type { ReplyMessage, RunMessage } from "./messages.js";

/**
 * A sandbox worker: runs modules one at a time, synchronously, so the pool can stop a runaway one
 * with `worker.terminate()` (Node then closes the descriptors this thread still held).
 *
 * It sleeps in `Atomics.wait` on its channel (see channel.ts) and answers through it: waking a
 * thread blocked on a futex costs a fraction of an event-loop message hop. After each
 * reply it prepares the next instance of the module it just ran (a fresh, never-run instance on
 * a zeroed memory: see PreparedInstance and MemoryRecycler), so the request path does not pay
 * for it.
 */
function serve(ready: MessagePort, port: MessagePort, channel: Channel): void {
  const tracker = localFdTracker();
  const modules = new Map<string, SandboxModule>();
  const spares = new Map<string, PreparedInstance>();
  const memories = new MemoryRecycler();
  const denyRules = new DenyRulesCache();
  const doors = new DoorCache();

  const prepare = (name: string) => {
    const module = modules.get(name);
    if (!module || spares.has(name)) return;
    try {
      spares.set(name, new PreparedInstance(module, RUNTIME_IMPORTS, memories.take(name, module.memory)));
    } catch {
      // The run will instantiate (and report the failure) itself.
    }
  };

  const reply = (msg: Exclude<ReplyMessage, { ready: true }>) => {
    if (channel.putReply(msg)) port.postMessage({ inChannel: msg.id } satisfies ReplyInChannel);
    else port.postMessage(msg, "result" in msg ? [msg.result.stdout.buffer as ArrayBuffer] : []);
    // Last: the reply is whole (a port message is queued on the pool's side once postMessage returns).
    Atomics.store(channel.words, DONE, msg.id);
  };

  const run = (msg: RunMessage) => {
    const name = msg.input.name;
    try {
      if (msg.wasm) {
        modules.set(name, msg.wasm);
        spares.delete(name);
      }
      const module = modules.get(name);
      if (!module) throw new Error(`module ${name} was never sent to this worker`);
      const prepared = spares.get(name) ?? new PreparedInstance(module, RUNTIME_IMPORTS, memories.take(name, module.memory));
      spares.delete(name);
      const result = runModule(module, msg.input, tracker, { prepared, denyRules: denyRules.get(msg.input.scope.denyGlobs), doors });
      reply({ id: msg.id, result });
      // Once the reply is on its way: wipe the memory and make the next instance of this module.
      memories.give(name, module.memory, prepared.memory);
      prepare(name);
    } catch (err) {
      reply({ id: msg.id, error: err instanceof Error ? err.message : String(err) });
    }
  };

  // Deadlines start when a run reaches a ready worker, not while the worker is still loading.
  ready.postMessage({ ready: true } satisfies ReplyMessage);
  let seen = 0;
  const next = () => {
    Atomics.wait(channel.words, WAKE, seen);
    seen = Atomics.load(channel.words, WAKE);
    const msg = channel.takeRequest() ?? (receiveMessageOnPort(port)?.message as RunMessage | undefined);
    if (msg) run(msg);
    // Back to the event loop between runs: V8's own tasks for this thread (garbage collection
    // steps, freeing transferred buffers) run there, and would starve in a tight loop.
    setImmediate(next);
  };
  next();
}

const data = workerData as { channel?: SharedArrayBuffer; port?: MessagePort } | null;
if (parentPort && data?.channel && data.port) serve(parentPort, data.port, new Channel(data.channel));
