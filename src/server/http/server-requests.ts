import type { ServerResponse } from "node:http";
import type { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";

/**
 * Requests the server starts on its own (roots/list right after `initialized`) travel on the
 * session's standalone GET SSE stream, and the SDK transport silently drops them while that
 * stream is not open yet: the client opens it only after `initialized`, so the first roots/list
 * was lost and every tool call waited 60 s for it. This tracks the stream and holds such requests
 * until it opens, for `waitMs` at most; then they fail at once (the roots manager keeps the
 * configured roots) instead of hanging. Requests tied to a client request are untouched.
 */
export class StandaloneStream {
  private open = false;
  private waiters: (() => void)[] = [];

  constructor(private readonly waitMs: number) {}

  /** Watches a GET /mcp response: open once its 200 headers go out, closed when it ends. */
  watch(res: ServerResponse): void {
    const writeHead = res.writeHead;
    const opened = () => this.opened();
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    res.writeHead = function (this: ServerResponse, status: number, ...rest: any[]) {
      const out = writeHead.call(this, status, ...rest);
      if (status === 200) opened();
      return out;
    } as typeof res.writeHead;
    res.once("close", () => {
      this.open = false;
    });
  }

  private opened(): void {
    this.open = true;
    for (const wake of this.waiters.splice(0)) wake();
  }

  /** True once the stream is open; false if it did not open within the bound. */
  async ready(): Promise<boolean> {
    if (this.open) return true;
    return new Promise<boolean>((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        resolve(true);
      };
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== wake);
        resolve(false);
      }, this.waitMs);
      timer.unref();
      this.waiters.push(wake);
    });
  }

  /** Makes `server`'s unrelated requests wait for the stream (see the class comment). */
  guard(server: McpServer): void {
    const inner = server.server;
    const request = inner.request.bind(inner);
    inner.request = (async (req: unknown, schema: unknown, options?: { relatedRequestId?: unknown }) => {
      if (options?.relatedRequestId === undefined && !(await this.ready())) {
        throw new Error("the client has no SSE stream open for server requests (GET /mcp)");
      }
      return (request as (...a: unknown[]) => unknown)(req, schema, options);
    }) as typeof inner.request;
  }
}
