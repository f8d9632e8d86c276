import { parentPort } from "node:worker_threads";
import { localFdTracker } from "../host/fd-tracker.js";
import { PreparedInstance } from "../wasi/prepared-instance.js";
import { runModule, WASI_FUNCTIONS } from "../wasi/run-module.js";
import { DenyRulesCache } from "./deny-rules-cache.js";
import type { ReplyMessage, RunMessage } from "./messages.js";

/**
 * A sandbox worker: runs modules one at a time, synchronously, so the pool can stop a runaway one
 * with `worker.terminate()` (Node then closes the descriptors this thread still held).
 *
 * Between runs it prepares the next instance of the module it just ran (a fresh, never-run
 * instance: see PreparedInstance), so the request path does not pay for a new wasm memory.
 */
function serve(port: NonNullable<typeof parentPort>): void {
  const tracker = localFdTracker();
  const modules = new Map<string, WebAssembly.Module>();
  const spares = new Map<string, PreparedInstance>();
  const denyRules = new DenyRulesCache();

  const prepare = (name: string) => {
    const module = modules.get(name);
    if (!module || spares.has(name)) return;
    try {
      spares.set(name, new PreparedInstance(module, WASI_FUNCTIONS));
    } catch {
      // The run will instantiate (and report the failure) itself.
    }
  };

  port.on("message", (msg: RunMessage) => {
    let reply: ReplyMessage;
    const name = msg.input.name;
    try {
      if (msg.wasm) {
        modules.set(name, msg.wasm);
        spares.delete(name);
      }
      const module = modules.get(name);
      if (!module) throw new Error(`module ${name} was never sent to this worker`);
      const prepared = spares.get(name);
      spares.delete(name);
      const result = runModule(module, msg.input, tracker, {
        ...(prepared ? { prepared } : {}),
        denyRules: denyRules.get(msg.input.scope.denyGlobs),
      });
      port.postMessage({ id: msg.id, result } satisfies ReplyMessage, [result.stdout.buffer as ArrayBuffer]);
      // Once the reply is on its way: the next call of this module finds its instance ready.
      setImmediate(prepare, name);
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
