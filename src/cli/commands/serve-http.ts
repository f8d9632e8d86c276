import { resolve } from "node:path";
import type { WardenDeps } from "../../server/deps.js";
import { resolveToken, startHttpServer } from "../../server/http/index.js";
import { rootsSummary } from "../../server/startup-line.js";
import { UsageError } from "../options.js";

/** What `warden serve --http` passes on from its flags. */
export interface ServeHttpFlags {
  host: string;
  port: number;
  tokenFile?: string;
}

/**
 * `warden serve --http`: starts the HTTP server over already-built deps and runs until SIGINT or
 * SIGTERM, then lets running calls finish (bounded) and closes deps. Environment knobs, for
 * deployments behind a proxy: WARDEN_ALLOWED_HOSTS and WARDEN_ALLOWED_ORIGINS (comma-separated),
 * WARDEN_HTTP_MAX_BODY_BYTES, WARDEN_HTTP_MAX_CONCURRENT, WARDEN_HTTP_SHUTDOWN_GRACE_MS.
 */
export async function serveHttp(deps: WardenDeps, flags: ServeHttpFlags): Promise<void> {
  const env = deps.options.env;
  const list = (v: string | undefined) => (v ? v.split(",").map((s) => s.trim()).filter(Boolean) : undefined);
  const num = (name: string) => positiveNumber(name, env[name]);
  let handle;
  try {
    const token = resolveToken(flags.tokenFile, env);
    handle = await startHttpServer(deps, {
      host: flags.host,
      port: flags.port,
      ...(token ? { token } : {}),
      ...defined("allowedHosts", list(env.WARDEN_ALLOWED_HOSTS)),
      ...defined("allowedOrigins", list(env.WARDEN_ALLOWED_ORIGINS)),
      ...defined("maxBodyBytes", num("WARDEN_HTTP_MAX_BODY_BYTES")),
      ...defined("maxConcurrentPerClient", num("WARDEN_HTTP_MAX_CONCURRENT")),
      ...defined("shutdownGraceMs", num("WARDEN_HTTP_SHUTDOWN_GRACE_MS")),
      // /api/v1/workspaces serves the state dir of serve's own workspace, else --state-dir's, else the default.
      ...defined("stateDir", deps.overlay?.state_dir ?? (deps.options.overlay?.stateDir ? resolve(deps.options.cwd, deps.options.overlay.stateDir) : undefined)),
    });
    deps.log(`mcp-warden ${deps.version} on ${handle.url}/mcp (REST: ${handle.url}/api/v1, auth: ${token ? "bearer token" : "none, loopback only"}); ${rootsSummary(deps)}`);
  } catch (err) {
    await deps.close();
    throw err;
  }
  const server = handle;
  let stopping = false;
  const stop = async (code: number) => {
    if (stopping) return;
    stopping = true;
    deps.log("shutting down: letting running calls finish");
    await server.close();
    await deps.close();
    process.exit(code);
  };
  process.on("SIGINT", () => void stop(130));
  process.on("SIGTERM", () => void stop(143));
}

/** A positive number from the environment; a bad value names the variable and echoes what it holds. */
function positiveNumber(name: string, text: string | undefined): number | undefined {
  if (text === undefined || text.trim() === "") return undefined;
  const n = Number(text);
  if (!Number.isFinite(n) || n <= 0) throw new UsageError(`${name} must be a positive number (got ${JSON.stringify(text)})`);
  return n;
}

function defined<K extends string, V>(key: K, value: V | undefined): Partial<Record<K, V>> {
  return value === undefined ? {} : ({ [key]: value } as Record<K, V>);
}
