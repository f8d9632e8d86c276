import { parentPort } from "node:worker_threads";
import { localFdTracker } from "../host/fd-tracker.js";
import { runModule } from "../wasi/run-module.js";
import type { ReplyMessage, RunMessage } from "./messages.js";

/**
 * A sandbox worker: runs modules one at a time, synchronously, so the pool can stop a runaway one
 * with `worker.terminate()` (Node then closes the descriptors this thread still held).
 */
function serve(port: NonNullable<typeof parentPort>): void {
  const tracker = localFdTracker();
  const modules = new Map<string, WebAssembly.Module>();
  port.on("message", (msg: RunMessage) => {
    let reply: ReplyMessage;
    try {
      if (msg.wasm) modules.set(msg.input.name, msg.wasm);
      const module = modules.get(msg.input.name);
      if (!module) throw new Error(`module ${msg.input.name} was never sent to this worker`);
      const result = runModule(module, msg.input, tracker);
      port.postMessage({ id: msg.id, result } satisfies ReplyMessage, [result.stdout.buffer as ArrayBuffer]);
      return;
    } catch (err) {
      reply = { id: msg.id, error: err instanceof Error ? err.message : String(err) };
    }
    port.postMessage(reply);
  });
  // Deadlines start when a run reaches a ready worker, not while the worker is still loading.
  port.postMessage({ ready: true } satisfies ReplyMessage);
}

if (parentPort) serve(parentPort);
