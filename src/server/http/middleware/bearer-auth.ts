import { createHash, timingSafeEqual } from "node:crypto";
import type { IncomingMessage } from "node:http";
import { HttpError } from "../respond.js";

/**
 * `Authorization: Bearer <token>` when a token is configured; a no-op otherwise (loopback only,
 * enforced at start). Compared through SHA-256 digests in constant time, so neither the token's
 * length nor its prefix leaks through timing.
 */
export function bearerAuth(token: string | undefined): (req: IncomingMessage) => void {
  if (!token) return () => {};
  const expected = digest(token);
  return (req) => {
    const header = req.headers.authorization ?? "";
    const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!m || !timingSafeEqual(digest(m[1]!), expected)) {
      throw new HttpError(401, "unauthorized", m ? "invalid bearer token" : "missing bearer token (Authorization: Bearer <token>)", {
        headers: { "www-authenticate": 'Bearer realm="mcp-warden"' },
      });
    }
  };
}

function digest(value: string): Buffer {
  return createHash("sha256").update(value).digest();
}
