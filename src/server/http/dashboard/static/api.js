// The dashboard's only way to the server: fetch with the bearer token from sessionStorage (never in a URL).
const KEY = "mcp-warden-token";

export const token = {
  get: () => sessionStorage.getItem(KEY) ?? "",
  set: (t) => sessionStorage.setItem(KEY, t),
  clear: () => sessionStorage.removeItem(KEY),
};

function headers(extra = {}) {
  const t = token.get();
  return t ? { authorization: `Bearer ${t}`, ...extra } : extra;
}

/** GET or POST JSON; throws an Error carrying the server's message and status. */
export async function api(path, { method = "GET", body, params } = {}) {
  const q = params ? `?${new URLSearchParams(Object.entries(params).filter(([, v]) => v !== "" && v !== undefined))}` : "";
  const res = await fetch(`${path}${q}`, {
    method,
    headers: headers(body ? { "content-type": "application/json" } : {}),
    body: body ? JSON.stringify(body) : undefined,
    cache: "no-store",
  });
  const data = await res.json().catch(() => ({}));
  if (!res.ok) throw Object.assign(new Error(data?.error?.message ?? `${res.status} ${res.statusText}`), { status: res.status });
  return data;
}

/**
 * Reads the audit stream (SSE over fetch, so the token travels in a header), calling onRecord per
 * record; reconnects after a drop with Last-Event-ID = the last seq seen. Returns a stop function.
 */
export function stream(params, { onRecord, onState, lastId }) {
  const abort = new AbortController();
  let last = lastId;
  const run = async () => {
    while (!abort.signal.aborted) {
      try {
        const q = new URLSearchParams(Object.entries(params).filter(([, v]) => v));
        const res = await fetch(`/api/v1/audit/stream?${q}`, {
          headers: headers(last !== undefined ? { "last-event-id": String(last) } : {}),
          signal: abort.signal,
          cache: "no-store",
        });
        if (!res.ok) {
          const data = await res.json().catch(() => ({}));
          throw Object.assign(new Error(data?.error?.message ?? `stream: ${res.status}`), { status: res.status, fatal: res.status < 500 });
        }
        onState("live");
        const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
        let buf = "";
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buf += value;
          let cut;
          while ((cut = buf.indexOf("\n\n")) >= 0) {
            const event = parseEvent(buf.slice(0, cut));
            buf = buf.slice(cut + 2);
            if (event.data === undefined) continue;
            if (event.id !== undefined) last = Number(event.id);
            onRecord(JSON.parse(event.data));
          }
        }
      } catch (err) {
        if (abort.signal.aborted) return;
        if (err.fatal) return onState("error", err);
      }
      onState("reconnecting");
      await new Promise((r) => setTimeout(r, 2000));
    }
  };
  run();
  return () => abort.abort();
}

function parseEvent(block) {
  const event = {};
  for (const line of block.split("\n")) {
    if (line.startsWith(":")) continue;
    const i = line.indexOf(":");
    const field = i < 0 ? line : line.slice(0, i);
    const value = i < 0 ? "" : line.slice(i + 1).replace(/^ /, "");
    if (field === "data") event.data = event.data === undefined ? value : `${event.data}\n${value}`;
    else event[field] = value;
  }
  return event;
}
