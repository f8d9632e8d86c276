import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { PassThrough, Writable } from "node:stream";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import type { Transport } from "@modelcontextprotocol/sdk/shared/transport.js";
import { deserializeMessage, serializeMessage } from "@modelcontextprotocol/sdk/shared/stdio.js";
import type { CallToolResult, JSONRPCMessage } from "@modelcontextprotocol/sdk/types.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createWardenServer } from "../../src/server/create-server.js";
import { buildDeps } from "../../src/server/deps.js";
import type { WardenDeps } from "../../src/server/deps.js";
import { serializeMessageParts, StdioTransport } from "../../src/server/stdio-transport.js";
import { makeTempDir, removeDir } from "../support/tree.js";

const line = (m: unknown) => Buffer.concat(serializeMessageParts(m)).toString("utf8");

describe("serializeMessageParts: the SDK's wire format, byte for byte", () => {
  const long = "x".repeat(70_000) + "\u{1F600}\n\"\\\u0001é" + "y".repeat(70_000) + "\ud800";
  it.each([
    ["a small message", { jsonrpc: "2.0", id: 1, result: { content: [{ type: "text", text: "hi\n" }] } }],
    ["a long string twice (content and structuredContent)", { jsonrpc: "2.0", id: "a", result: { content: [{ type: "text", text: long }], structuredContent: { content: long, n: 1 } } }],
    ["two long strings, one at a piece boundary with a surrogate pair", { jsonrpc: "2.0", id: 2, result: { a: "a".repeat(65_535) + "\u{1F600}" + "b".repeat(10), b: long } }],
    ["a string that looks like a placeholder without its nonce", { jsonrpc: "2.0", id: 3, result: { t: "\u0000warden-long-0000000000000000-0", big: long } }],
    ["undefined values and toJSON", { jsonrpc: "2.0", id: 4, result: { gone: undefined, when: new Date(0), list: [undefined, long] } }],
  ])("%s", (_what, message) => {
    expect(line(message)).toBe(serializeMessage(message as JSONRPCMessage));
  });
});

/** The client side of a stream pair: the SDK's line writer; lines read without the SDK's ReadBuffer, which copies and rescans everything it holds on each chunk (seconds for 2 MB in 16 KiB chunks). */
class StreamClientTransport implements Transport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: (message: JSONRPCMessage) => void;
  private pending: Buffer[] = [];
  constructor(private readonly toServer: PassThrough, private readonly fromServer: NodeJS.ReadableStream) {}
  async start() {
    this.fromServer.on("data", (chunk: Buffer) => {
      let at = 0;
      for (let nl = chunk.indexOf(10); nl !== -1; nl = chunk.indexOf(10, at)) {
        const text = Buffer.concat([...this.pending, chunk.subarray(at, nl)]).toString("utf8");
        this.pending = [];
        at = nl + 1;
        this.onmessage?.(deserializeMessage(text));
      }
      if (at < chunk.length) this.pending.push(chunk.subarray(at));
    });
  }
  async send(message: JSONRPCMessage) {
    this.toServer.write(serializeMessage(message));
  }
  async close() {
    this.onclose?.();
  }
}

/** A client's stdout pipe; after `hold()` it takes one more write (the start of the next reply) and then nothing until `release()`: a client that stopped reading. */
class HeldOutput extends Writable {
  /** Bytes taken since hold(). */
  received = 0;
  private holding = false;
  private held: Array<() => void> = [];
  readonly relay = new PassThrough();
  constructor() {
    super({ highWaterMark: 16 * 1024 });
  }
  override _write(chunk: Buffer, _enc: BufferEncoding, done: (error?: Error | null) => void) {
    const pass = () => {
      if (this.holding) this.received += chunk.length;
      this.relay.write(chunk);
      done();
    };
    if (!this.holding || this.received === 0) pass();
    else this.held.push(pass);
  }
  hold() {
    this.holding = true;
    this.received = 0;
  }
  release() {
    this.holding = false;
    for (const pass of this.held.splice(0)) pass();
  }
}

describe("StdioTransport: a large reply drains without holding the server", () => {
  let dir: string;
  let deps: WardenDeps;
  const big = "The quick brown fox jumps over the lazy dog \u00e9.\n".repeat(3_000);
  beforeAll(async () => {
    dir = makeTempDir("warden-stdio-");
    writeFileSync(join(dir, "big.txt"), big);
    writeFileSync(join(dir, "small.txt"), "small\n");
    writeFileSync(join(dir, "policy.json"), JSON.stringify({ filesystem: { max_read_bytes: 3 * 1024 * 1024 } }));
    deps = await buildDeps({ roots: [dir], readOnly: [], allow: [], policyPath: join(dir, "policy.json"), privileged: false, cwd: dir, env: {}, log: () => {} });
  });
  afterAll(async () => {
    await deps.close();
    removeDir(dir);
  });

  async function session(output: Writable, relay: NodeJS.ReadableStream): Promise<Client> {
    const input = new PassThrough();
    await createWardenServer(deps).connect(new StdioTransport(input, output));
    const client = new Client({ name: "t", version: "1" });
    await client.connect(new StreamClientTransport(input, relay));
    return client;
  }

  it("a small reply to another client arrives while a 150 KB reply waits for its client to read; then the big one arrives whole", async () => {
    const t0 = Date.now();
    const held = new HeldOutput();
    const slow = await session(held, held.relay);
    const out = new PassThrough();
    const fast = await session(out, out);
    // Both sessions warm (module compiled) before the measured part; reads under 256 KiB run on the main thread.
    await slow.callTool({ name: "read_file", arguments: { path: "small.txt" } });
    await fast.callTool({ name: "read_file", arguments: { path: "small.txt" } });
    const order: string[] = [];
    held.hold();
    const bigCall = slow.callTool({ name: "read_file", arguments: { path: "big.txt" } }).then((r) => (order.push("big"), r as CallToolResult));
    // The big reply has started to leave (its first part), and its client stopped reading.
    while (held.received === 0) await new Promise((r) => setTimeout(r, 5));
    const small = (await fast.callTool({ name: "read_file", arguments: { path: "small.txt" } })) as CallToolResult;
    order.push("small");
    expect(small.structuredContent).toMatchObject({ content: "small\n" });
    expect(held.received).toBeLessThan(Buffer.byteLength(big));
    held.release();
    const whole = await bigCall;
    expect(order).toEqual(["small", "big"]);
    expect(whole.structuredContent).toMatchObject({ content: big, truncated: false });
    expect((whole.content[0] as { text: string }).text).toBe(big);
  });
});
