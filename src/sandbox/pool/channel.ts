import type { ModuleRunResult } from "../types.js";
import type { ReplyMessage, RunMessage } from "./messages.js";

/*
 * The shared-memory channel between the pool and one worker. A run is written into one
 * SharedArrayBuffer and the worker, asleep in `Atomics.wait`, is woken with `Atomics.notify`: a
 * futex wake-up costs a fraction of an event-loop message hop, and the worker needs no event loop
 * turn to take it. The reply is written into the same buffer and announced with a small message
 * on the slot's MessagePort (its event loop wakes the pool's thread; `Atomics.waitAsync` would do
 * the same but its integration in Node is still unfinished). A run carrying a module, a search's
 * claim table (it must stay one SharedArrayBuffer) or a large stdin, and a large reply, go whole
 * through the MessagePort instead, and the shared header says so.
 *
 * Header (Int32 words):
 *   WAKE   the pool increments it for every run it hands over (the worker waits on it)
 *   DONE   the id of the last run the worker answered, stored once its reply is complete (in the
 *          channel or posted on the port): the pool can take a reply without waiting for the port
 *          message (WorkerPool.collect)
 *   REQ    bytes of the run in the request area, or ON_PORT
 *   REP    bytes of the reply in the reply area, or ON_PORT
 * A slot has at most one run in flight, so each area holds one message at a time.
 * Message bytes: u32 length of a JSON header, the JSON, then raw bytes (stdin or stdout).
 */
export const WAKE = 0;
export const DONE = 1;
const REQ = 2;
const REP = 3;
const HEADER_BYTES = 16;
export const ON_PORT = -1;
const REQUEST_BYTES = 64 * 1024;
/** Replies up to a default read_file reply (1 MiB) plus headroom stay in shared memory. */
const REPLY_BYTES = 1024 * 1024 + 64 * 1024;

/** The port message that says "the reply to run `id` is in the channel". */
export interface ReplyInChannel {
  inChannel: number;
}

export class Channel {
  readonly words: Int32Array;
  private readonly bytes: Uint8Array;
  private readonly encoder = new TextEncoder();

  constructor(readonly buffer: SharedArrayBuffer = new SharedArrayBuffer(HEADER_BYTES + REQUEST_BYTES + REPLY_BYTES)) {
    this.words = new Int32Array(buffer, 0, HEADER_BYTES / 4);
    this.bytes = new Uint8Array(buffer);
  }

  /** Writes a run into the request area; false when it must go by port (it carries a module or is too large). */
  putRequest(msg: RunMessage): boolean {
    if (msg.wasm !== undefined || msg.input.claims !== undefined) return this.mark(REQ, ON_PORT);
    const { stdin, ...rest } = msg.input;
    const n = this.put(HEADER_BYTES, REQUEST_BYTES, { id: msg.id, input: rest }, stdin ?? null);
    return this.mark(REQ, n);
  }

  /** The run in the request area, or null when it came by port. */
  takeRequest(): RunMessage | null {
    const n = Atomics.load(this.words, REQ);
    if (n === ON_PORT) return null;
    const { json, payload } = this.get(HEADER_BYTES, n);
    const msg = json as RunMessage;
    if (payload.byteLength > 0) msg.input.stdin = payload;
    return msg;
  }

  /** Writes a reply into the reply area; false when it must go by port (too large). */
  putReply(reply: ReplyMessage): boolean {
    if (!("result" in reply)) return this.mark(REP, this.put(HEADER_BYTES + REQUEST_BYTES, REPLY_BYTES, reply, null));
    const { stdout, ...rest } = reply.result;
    return this.mark(REP, this.put(HEADER_BYTES + REQUEST_BYTES, REPLY_BYTES, { id: reply.id, result: rest }, stdout));
  }

  /** The reply in the reply area (copied out), or null when it came by port. */
  takeReply(): ReplyMessage | null {
    const n = Atomics.load(this.words, REP);
    if (n === ON_PORT) return null;
    const { json, payload } = this.get(HEADER_BYTES + REQUEST_BYTES, n);
    const reply = json as ReplyMessage;
    if ("result" in reply) (reply.result as ModuleRunResult).stdout = payload;
    return reply;
  }

  private mark(word: number, n: number): boolean {
    Atomics.store(this.words, word, n);
    return n !== ON_PORT;
  }

  /** Encodes `json` + `payload` at `at`; the byte count, or ON_PORT when it does not fit. */
  private put(at: number, cap: number, json: unknown, payload: Uint8Array | null): number {
    const size = payload?.byteLength ?? 0;
    if (size > cap) return ON_PORT;
    const text = JSON.stringify(json);
    // At most 3 UTF-8 bytes per UTF-16 unit: check before writing.
    if (4 + text.length * 3 + size > cap) {
      const exact = Buffer.byteLength(text);
      if (4 + exact + size > cap) return ON_PORT;
    }
    const { written } = this.encoder.encodeInto(text, this.bytes.subarray(at + 4, at + cap));
    new DataView(this.buffer, at, 4).setUint32(0, written, true);
    if (payload) this.bytes.set(payload, at + 4 + written);
    return 4 + written + size;
  }

  private get(at: number, n: number): { json: unknown; payload: Uint8Array } {
    const jsonBytes = new DataView(this.buffer, at, 4).getUint32(0, true);
    const json: unknown = JSON.parse(Buffer.from(this.buffer, at + 4, jsonBytes).toString("utf8"));
    // A copy: the area is reused by the next message.
    const payload = this.bytes.slice(at + 4 + jsonBytes, at + n);
    return { json, payload };
  }
}
