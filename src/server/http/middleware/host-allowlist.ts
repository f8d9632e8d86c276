import type { IncomingMessage } from "node:http";
import { HttpError } from "../respond.js";

/**
 * DNS-rebinding protection, part 1: the Host header must name this server. A page on
 * evil.example.com that resolves to 127.0.0.1 sends `Host: evil.example.com` and is refused.
 * Ports are ignored (the name is what a rebinding attack changes). An empty list accepts any Host.
 */
export function hostAllowlist(allowed: string[]): (req: IncomingMessage) => void {
  const names = new Set(allowed.map((h) => h.toLowerCase()));
  return (req) => {
    if (names.size === 0) return;
    const host = hostName(req.headers.host);
    if (host === null || !names.has(host)) {
      throw new HttpError(403, "forbidden_host", `Host header ${JSON.stringify(req.headers.host ?? "")} is not allowed (DNS-rebinding protection)`);
    }
  };
}

/** `Host` without its port, lower-case; IPv6 keeps its brackets. Null when malformed. */
export function hostName(header: string | undefined): string | null {
  if (!header) return null;
  const h = header.trim().toLowerCase();
  const m = /^(\[[0-9a-f:.]+\]|[^:[\]\s/]+)(?::(\d{1,5}))?$/.exec(h);
  return m ? m[1]! : null;
}
