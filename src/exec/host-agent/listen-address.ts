/** Where the agent listens / the backend connects: TCP host:port or a unix socket path. */
export type AgentAddress = { kind: "tcp"; host: string; port: number } | { kind: "unix"; path: string };

/**
 * Parses `127.0.0.1:8001`, `http://127.0.0.1:8001`, `[::1]:8001`, `unix:/run/warden/agent.sock`
 * or `unix:///run/warden/agent.sock` (port 0: any free port, for tests). Only http (never https: loopback or a socket file) is spoken.
 */
export function parseAgentAddress(value: string): AgentAddress {
  const v = value.trim();
  if (v.startsWith("unix:")) {
    const path = v.slice("unix:".length).replace(/^\/\/(?=\/)/, "");
    if (!path.startsWith("/")) throw new Error(`agent address ${value}: a unix socket path must be absolute`);
    return { kind: "unix", path };
  }
  const rest = v.replace(/^http:\/\//, "").replace(/\/+$/, "");
  const m = /^(\[[^\]]+\]|[^:/]+):(\d{1,5})$/.exec(rest);
  if (!m) throw new Error(`agent address ${value}: expected HOST:PORT, http://HOST:PORT or unix:/PATH`);
  const port = Number(m[2]);
  if (port > 65535) throw new Error(`agent address ${value}: bad port`);
  return { kind: "tcp", host: m[1]!.replace(/^\[|\]$/g, ""), port };
}

/** Whether a TCP host is a loopback address (the agent refuses anything else). */
export function isLoopback(host: string): boolean {
  return host === "localhost" || host === "::1" || /^127\.\d+\.\d+\.\d+$/.test(host);
}
