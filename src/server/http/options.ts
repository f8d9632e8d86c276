import { readFileSync } from "node:fs";
import { isIP } from "node:net";
import { defaultStateDir } from "../../workspace/index.js";

/** How `startHttpServer` is configured; everything but host and port has a safe default. */
export interface HttpOptions {
  host: string;
  /** 0 picks a free port (tests). */
  port: number;
  /** Bearer token. Required when `host` is not a loopback address. */
  token?: string;
  /** Extra Host header names accepted besides the loopback names and the bind address. */
  allowedHosts?: string[];
  /** Extra Origin values accepted besides the loopback origins (e.g. `https://ide.example.com`). */
  allowedOrigins?: string[];
  /** Largest request body, bytes (default: twice the policy's max_write_bytes plus 1 MiB, at least 4 MiB). */
  maxBodyBytes?: number;
  /** Requests one client (an MCP session, else a remote address) may have in flight (default 32). */
  maxConcurrentPerClient?: number;
  /** MCP sessions open at once (default 1000). */
  maxSessions?: number;
  /** An MCP session with no request for this long is closed (default 30 min). */
  sessionIdleMs?: number;
  /** How long close() lets running calls finish before it cuts them off (default 10 s). */
  shutdownGraceMs?: number;
  /** Interval of the audit stream's heartbeat comments (default 15 s). */
  heartbeatMs?: number;
  /** Where the workspaces of /api/v1/workspaces live (default: `warden workspace`'s, $XDG_STATE_HOME/mcp-warden). */
  stateDir?: string;
}

/** Options after defaults, as the rest of the HTTP layer sees them. */
export interface ResolvedHttpOptions {
  host: string;
  port: number;
  token: string | undefined;
  /** Lower-case host names without port; empty = any Host (wildcard bind with a token and no list). */
  allowedHosts: string[];
  /** Exact origins plus loopback origins on any port. */
  allowedOrigins: string[];
  maxBodyBytes: number;
  maxConcurrentPerClient: number;
  maxSessions: number;
  sessionIdleMs: number;
  shutdownGraceMs: number;
  stateDir: string;
}

/** A configuration the server refuses to start with; the message says what to change. */
export class HttpConfigError extends Error {
  override name = "HttpConfigError";
}

const LOOPBACK_NAMES = ["localhost", "127.0.0.1", "[::1]"];
const MIN_TOKEN_LENGTH = 16;

/** Loopback binds are reachable from this machine only: `localhost`, 127.0.0.0/8, ::1. */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, "").toLowerCase();
  if (h === "localhost" || h === "::1") return true;
  return isIP(h) === 4 && h.startsWith("127.");
}

function isWildcardHost(host: string): boolean {
  return ["0.0.0.0", "::", "[::]"].includes(host);
}

/** The Host header form of a bind address (`::1` -> `[::1]`). */
export function hostHeaderName(host: string): string {
  const h = host.replace(/^\[|\]$/g, "").toLowerCase();
  return isIP(h) === 6 ? `[${h}]` : h;
}

/**
 * The token from `--token-file` (first line, trimmed) or `WARDEN_TOKEN`; the file wins. A token
 * shorter than 16 characters is refused: it would be guessable.
 */
export function resolveToken(tokenFile: string | undefined, env: NodeJS.ProcessEnv): string | undefined {
  let token: string | undefined;
  if (tokenFile) {
    try {
      token = readFileSync(tokenFile, "utf8").split(/\r?\n/)[0]?.trim();
    } catch (err) {
      throw new HttpConfigError(`--token-file ${tokenFile}: cannot read: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
    }
    if (!token) throw new HttpConfigError(`--token-file ${tokenFile}: the file is empty`);
  } else if (env.WARDEN_TOKEN) {
    token = env.WARDEN_TOKEN.trim();
  }
  if (token !== undefined && token.length < MIN_TOKEN_LENGTH) {
    throw new HttpConfigError(
      `the HTTP token is too short (${token.length} characters; at least ${MIN_TOKEN_LENGTH}). Make one with: openssl rand -hex 32`,
    );
  }
  return token;
}

/** Applies defaults and refuses unsafe combinations (a non-loopback bind without a token). */
export function resolveHttpOptions(options: HttpOptions, maxWriteBytes: number): ResolvedHttpOptions {
  if (!isLoopbackHost(options.host) && !options.token) {
    throw new HttpConfigError(
      `refusing to listen on ${options.host} without a token: anyone who can reach it could run commands. ` +
        `Give --token-file FILE or set WARDEN_TOKEN (e.g. openssl rand -hex 32), or bind 127.0.0.1.`,
    );
  }
  const extraHosts = (options.allowedHosts ?? []).map((h) => h.toLowerCase().replace(/:\d+$/, ""));
  let allowedHosts: string[];
  if (isWildcardHost(options.host)) allowedHosts = extraHosts.length ? [...LOOPBACK_NAMES, ...extraHosts] : [];
  else allowedHosts = [...new Set([...LOOPBACK_NAMES, hostHeaderName(options.host), ...extraHosts])];
  const positive = (v: number | undefined, fallback: number, name: string) => {
    if (v === undefined) return fallback;
    if (!Number.isFinite(v) || v <= 0) throw new HttpConfigError(`${name} must be a positive number (got ${v})`);
    return v;
  };
  if (!Number.isInteger(options.port) || options.port < 0 || options.port > 65535) {
    throw new HttpConfigError(`--port must be an integer from 0 to 65535 (got ${options.port})`);
  }
  return {
    host: options.host,
    port: options.port,
    token: options.token,
    allowedHosts,
    allowedOrigins: options.allowedOrigins ?? [],
    maxBodyBytes: positive(options.maxBodyBytes, Math.max(4 << 20, 2 * maxWriteBytes + (1 << 20)), "maxBodyBytes"),
    maxConcurrentPerClient: positive(options.maxConcurrentPerClient, 32, "maxConcurrentPerClient"),
    maxSessions: positive(options.maxSessions, 1000, "maxSessions"),
    sessionIdleMs: positive(options.sessionIdleMs, 30 * 60_000, "sessionIdleMs"),
    shutdownGraceMs: positive(options.shutdownGraceMs, 10_000, "shutdownGraceMs"),
    stateDir: options.stateDir ?? defaultStateDir(),
  };
}
