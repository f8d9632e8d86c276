import type { Transport, TransportSendOptions } from "@modelcontextprotocol/sdk/shared/transport.js";
import { isJSONRPCRequest, type JSONRPCMessage, type MessageExtraInfo, type RequestId } from "@modelcontextprotocol/sdk/types.js";

/**
 * A transport that knows which of the client's requests are still unanswered, so the server can
 * answer them before it exits when the client's input ends (`printf '...' | warden serve`). It
 * wraps another transport and changes nothing on the wire.
 */
export class InFlightTransport implements Transport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: (message: JSONRPCMessage, extra?: MessageExtraInfo) => void;
  private readonly pending = new Set<RequestId>();
  private idle: (() => void)[] = [];

  constructor(private readonly inner: Transport) {
    inner.onclose = () => this.onclose?.();
    inner.onerror = (error) => this.onerror?.(error);
    inner.onmessage = (message, extra) => {
      if (isJSONRPCRequest(message)) this.pending.add(message.id);
      this.onmessage?.(message, extra);
    };
  }

  /** Requests received and not yet answered. */
  get inFlight(): number {
    return this.pending.size;
  }

  start(): Promise<void> {
    return this.inner.start();
  }

  async send(message: JSONRPCMessage, options?: TransportSendOptions): Promise<void> {
    await this.inner.send(message, options);
    // A response or an error answers the client's request with that id.
    const id = "method" in message ? undefined : (message as { id?: RequestId | null }).id;
    if (id !== undefined && id !== null && this.pending.delete(id) && this.pending.size === 0) {
      for (const wake of this.idle.splice(0)) wake();
    }
  }

  close(): Promise<void> {
    return this.inner.close();
  }

  /** Resolves true once every request received so far is answered, or false after `timeoutMs`. */
  drained(timeoutMs: number): Promise<boolean> {
    if (this.pending.size === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.idle = this.idle.filter((w) => w !== wake);
        resolve(false);
      }, timeoutMs);
      const wake = () => {
        clearTimeout(timer);
        resolve(true);
      };
      this.idle.push(wake);
    });
  }
}
