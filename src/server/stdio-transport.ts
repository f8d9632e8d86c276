import { randomBytes } from "node:crypto";
import type { Readable, Writable } from "node:stream";
import { escapedPieces } from "../audit/canonical-json.js";
import type { Transport } from "@modelcontextprotocol/sdk/shared/transport.js";
import { JSONRPCMessageSchema, type JSONRPCMessage } from "@modelcontextprotocol/sdk/types.js";

/** The SDK's stdio limit for one incoming message; a longer line is refused and the connection closed. */
const MAX_LINE_BYTES = 10 * 1024 * 1024;
/** Strings longer than this (UTF-16 code units) are escaped and encoded once per reply, in pieces. */
const LONG_STRING = 64 * 1024;

/**
 * MCP over stdio, the same wire format as the SDK's StdioServerTransport (one JSON text per line,
 * byte for byte what JSON.stringify writes), built for large replies:
 * - a reply is encoded to Buffers with each long string escaped and encoded once, although a tool
 *   result carries its text twice (content and structuredContent), and written without holding the event loop:
 *   send() resolves when the reply has been written, and other work runs while it drains;
 * - incoming chunks are kept in a list and only the newest is scanned for the end of line, so a
 *   large request is not copied and rescanned on every chunk.
 */
export class StdioTransport implements Transport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: (message: JSONRPCMessage) => void;
  private chunks: Buffer[] = [];
  private pendingBytes = 0;
  private started = false;
  private closed = false;

  constructor(
    private readonly input: Readable = process.stdin,
    private readonly output: Writable = process.stdout,
  ) {}

  private readonly onData = (chunk: Buffer) => {
    let at = 0;
    for (let nl = chunk.indexOf(10); nl !== -1; nl = chunk.indexOf(10, at)) {
      const line = this.take(chunk.subarray(at, nl));
      at = nl + 1;
      this.deliver(line);
      if (this.closed) return;
    }
    if (at < chunk.length) {
      this.pendingBytes += chunk.length - at;
      this.chunks.push(chunk.subarray(at));
      if (this.pendingBytes > MAX_LINE_BYTES) {
        this.chunks = [];
        this.pendingBytes = 0;
        this.onerror?.(new Error(`a message over ${MAX_LINE_BYTES} bytes without an end of line: the connection is closed`));
        void this.close();
      }
    }
  };

  private readonly onInputError = (error: Error) => this.onerror?.(error);

  /** The pending chunks plus `tail`, as one line's text (a trailing CR dropped, as the SDK does). */
  private take(tail: Buffer): string {
    const bytes = this.chunks.length === 0 ? tail : Buffer.concat([...this.chunks, tail]);
    this.chunks = [];
    this.pendingBytes = 0;
    const end = bytes.length > 0 && bytes[bytes.length - 1] === 13 ? bytes.length - 1 : bytes.length;
    return bytes.toString("utf8", 0, end);
  }

  private deliver(line: string): void {
    let message: JSONRPCMessage;
    try {
      message = JSONRPCMessageSchema.parse(JSON.parse(line));
    } catch (error) {
      this.onerror?.(error as Error);
      return;
    }
    this.onmessage?.(message);
  }

  async start(): Promise<void> {
    if (this.started) throw new Error("StdioTransport already started (Server.connect starts it)");
    this.started = true;
    this.input.on("data", this.onData);
    this.input.on("error", this.onInputError);
  }

  send(message: JSONRPCMessage): Promise<void> {
    const parts = serializeMessageParts(message);
    return new Promise((resolve, reject) => {
      if (this.output.destroyed || this.output.writableEnded) {
        reject(new Error("stdout is closed: the reply cannot be sent"));
        return;
      }
      // One writev for the parts; send() resolves once they are written (a process that exits
      // right after, as `serve` does when its input ends, loses nothing), or fails with the stream.
      this.output.cork();
      parts.forEach((part, i) => {
        if (i < parts.length - 1) this.output.write(part);
        else this.output.write(part, (error) => (error ? reject(error) : resolve()));
      });
      this.output.uncork();
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.input.off("data", this.onData);
    this.input.off("error", this.onInputError);
    if (this.input.listenerCount("data") === 0) this.input.pause();
    this.chunks = [];
    this.onclose?.();
  }
}

/** Marks a long string's place in the JSON text; the nonce keeps any real string from looking like one. */
const MARK = `\u0000warden-long-${randomBytes(8).toString("hex")}-`;
const MARK_JSON = JSON.stringify(MARK).slice(0, -1);

/**
 * `JSON.stringify(message) + "\n"` as UTF-8, byte for byte, in parts: each distinct long string is
 * escaped and encoded once (in pieces) and its Buffer used wherever the string occurs.
 */
export function serializeMessageParts(message: unknown): Buffer[] {
  const long: string[] = [];
  const index = new Map<string, number>();
  const json = JSON.stringify(message, (_key, value: unknown) => {
    if (typeof value !== "string" || value.length <= LONG_STRING) return value;
    let i = index.get(value);
    if (i === undefined) {
      i = long.length;
      long.push(value);
      index.set(value, i);
    }
    return `${MARK}${i}`;
  });
  if (long.length === 0) return [Buffer.from(`${json}\n`, "utf8")];
  const encoded = long.map(encodeLongString);
  const parts: Buffer[] = [];
  let at = 0;
  for (let found = json.indexOf(MARK_JSON); found !== -1; found = json.indexOf(MARK_JSON, at)) {
    const close = json.indexOf('"', found + MARK_JSON.length);
    parts.push(Buffer.from(json.slice(at, found), "utf8"));
    parts.push(encoded[Number(json.slice(found + MARK_JSON.length, close))]!);
    at = close + 1;
  }
  parts.push(Buffer.from(`${json.slice(at)}\n`, "utf8"));
  return parts.filter((p) => p.length > 0);
}

/** JSON.stringify(text) as UTF-8, escaped in pieces that never split a surrogate pair. */
function encodeLongString(text: string): Buffer {
  const pieces = ['"', ...escapedPieces(text, LONG_STRING), '"'];
  let size = 0;
  for (const p of pieces) size += Buffer.byteLength(p, "utf8");
  const out = Buffer.allocUnsafe(size);
  let offset = 0;
  for (const p of pieces) offset += out.write(p, offset, "utf8");
  return out;
}
