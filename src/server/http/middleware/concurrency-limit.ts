import { HttpError } from "../respond.js";

/**
 * At most `limit` requests in flight per client key. `acquire` throws 429 over the limit and
 * otherwise returns the release function (call it once, when the response is done).
 */
export function concurrencyLimit(limit: number): { acquire(client: string): () => void; inFlight(client: string): number } {
  const counts = new Map<string, number>();
  return {
    acquire(client) {
      const n = counts.get(client) ?? 0;
      if (n >= limit) {
        throw new HttpError(429, "too_many_requests", `too many concurrent requests from this client (limit ${limit}); retry when one finishes`, {
          headers: { "retry-after": "1" },
          details: { limit },
        });
      }
      counts.set(client, n + 1);
      let released = false;
      return () => {
        if (released) return;
        released = true;
        const left = (counts.get(client) ?? 1) - 1;
        if (left <= 0) counts.delete(client);
        else counts.set(client, left);
      };
    },
    inFlight: (client) => counts.get(client) ?? 0,
  };
}
