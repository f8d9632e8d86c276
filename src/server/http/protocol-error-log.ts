import type { IncomingMessage } from "node:http";
import { remoteAddress } from "./respond.js";

/** Distinct (client, kind) pairs remembered before further ones go unlogged. */
const MAX_REPORTED = 1000;

/**
 * Logs a client's protocol mistakes (`Not Acceptable: ...`, `Bad Request: ...`) once per client
 * and kind, not once per request: a client that gets every request wrong would otherwise fill the
 * server's stderr. The client is its address and User-Agent. Kept on the server instance (one per
 * HTTP server), bounded.
 */
export class ProtocolErrorLog {
  private readonly seen = new Set<string>();
  private full = false;

  constructor(private readonly log: (message: string) => void) {}

  /** Logs `err` unless this client already made this kind of mistake. */
  report(client: string, err: Error): void {
    const kind = err.message.split(":")[0]!.slice(0, 80);
    const key = `${client}\0${kind}`;
    if (this.seen.has(key)) return;
    if (this.seen.size >= MAX_REPORTED) {
      if (!this.full) this.log(`mcp transport: ${MAX_REPORTED} kinds of protocol mistake (per client) logged; further new ones are not`);
      this.full = true;
      return;
    }
    this.seen.add(key);
    this.log(`mcp transport: ${client}: ${err.message} (logged once per client and kind)`);
  }
}

/** `127.0.0.1 "node"`: who made a request, for ProtocolErrorLog. */
export function clientLabel(req: IncomingMessage): string {
  const agent = req.headers["user-agent"];
  return `${remoteAddress(req)} ${JSON.stringify((agent ?? "no user agent").slice(0, 100))}`;
}
