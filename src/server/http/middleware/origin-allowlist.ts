import type { IncomingMessage } from "node:http";
import { HttpError } from "../respond.js";
import { isLoopbackHost } from "../options.js";

/**
 * DNS-rebinding protection, part 2: a browser always sends Origin on cross-site requests, so an
 * Origin that is neither a loopback page nor listed is refused. Requests without Origin (CLI
 * clients, agents) pass: they are not a browser being abused.
 */
export function originAllowlist(allowed: string[]): (req: IncomingMessage) => void {
  const exact = new Set(allowed.map((o) => o.toLowerCase().replace(/\/+$/, "")));
  return (req) => {
    const origin = req.headers.origin;
    if (origin === undefined) return;
    if (exact.has(origin.toLowerCase()) || isLoopbackOrigin(origin)) return;
    throw new HttpError(403, "forbidden_origin", `Origin ${JSON.stringify(origin)} is not allowed (DNS-rebinding protection)`);
  };
}

function isLoopbackOrigin(origin: string): boolean {
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    return false;
  }
  return (url.protocol === "http:" || url.protocol === "https:") && isLoopbackHost(url.hostname);
}
