import type { RunInput } from "../wasi/run-module.js";
import type { SandboxModule } from "../wasi/memory-import.js";
import type { ModuleRunResult } from "../types.js";

/** Pool -> worker: run one module; `wasm` is sent the first time this worker sees `input.name`. */
export interface RunMessage {
  id: number;
  input: RunInput;
  wasm?: SandboxModule;
}

/** Worker -> pool: `ready` once after start (parent port), then one reply per run (channel.ts). */
export type ReplyMessage = { ready: true } | { id: number; result: ModuleRunResult } | { id: number; error: string };
