import { request, type ClientRequest } from "node:http";

/** One SSE event as the audit stream sends it. */
export interface SseEvent {
  id?: string;
  event?: string;
  data?: string;
}

/** A raw SSE connection (node:http, so a test can drop it mid-stream like a network would). */
export interface SseConnection {
  status: number;
  events: SseEvent[];
  comments: string[];
  /** Resolves once `n` events have arrived. */
  waitFor(n: number, timeoutMs?: number): Promise<SseEvent[]>;
  /** Resolves once a comment matching `re` has arrived. */
  waitForComment(re: RegExp, timeoutMs?: number): Promise<void>;
  drop(): void;
}

export function openSse(url: string, path: string, headers: Record<string, string> = {}): Promise<SseConnection> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    let req: ClientRequest;
    const events: SseEvent[] = [];
    const comments: string[] = [];
    const waiters = new Set<() => void>();
    const poke = () => waiters.forEach((w) => w());
    const until = (ok: () => boolean, what: string, timeoutMs: number) =>
      new Promise<void>((res, rej) => {
        if (ok()) return res();
        const t = setTimeout(() => {
          waiters.delete(check);
          rej(new Error(`timed out waiting for ${what}; got ${events.length} events`));
        }, timeoutMs);
        const check = () => {
          if (!ok()) return;
          clearTimeout(t);
          waiters.delete(check);
          res();
        };
        waiters.add(check);
      });
    req = request({ host: u.hostname, port: u.port, path, headers, agent: false }, (res) => {
      let buf = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => {
        buf += chunk;
        let cut;
        while ((cut = buf.indexOf("\n\n")) >= 0) {
          const block = buf.slice(0, cut);
          buf = buf.slice(cut + 2);
          const ev: SseEvent = {};
          for (const line of block.split("\n")) {
            if (line.startsWith(":")) comments.push(line.slice(1).trim());
            else if (line.startsWith("id: ")) ev.id = line.slice(4);
            else if (line.startsWith("event: ")) ev.event = line.slice(7);
            else if (line.startsWith("data: ")) ev.data = line.slice(6);
          }
          if (ev.data !== undefined) events.push(ev);
        }
        poke();
      });
      res.on("error", () => {});
      resolve({
        status: res.statusCode ?? 0,
        events,
        comments,
        waitFor: async (n, timeoutMs = 10_000) => {
          await until(() => events.length >= n, `${n} events`, timeoutMs);
          return events;
        },
        waitForComment: (re, timeoutMs = 10_000) => until(() => comments.some((c) => re.test(c)), `comment ${re}`, timeoutMs),
        drop: () => req.destroy(),
      });
    });
    req.on("error", reject);
    req.end();
  });
}
