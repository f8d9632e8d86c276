import type { RunInput } from "../wasi/run-module.js";
import type { ModuleRunResult } from "../types.js";

/** Pool -> worker: run one module; `wasm` is sent the first time this worker sees `input.name`. */
export interface RunMessage {
  id: number;
  input: RunInput;
  wasm?: WebAssembly.Module;
}

/** Worker -> pool: `ready` once after start, then one reply per run. */
export type ReplyMessage = { ready: true } | { id: number; result: ModuleRunResult } | { id: number; error: string };
