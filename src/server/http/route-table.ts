import type { IncomingMessage, ServerResponse } from "node:http";
import type { RequestContext } from "./respond.js";

/** One HTTP route. Path patterns name parameters as `{name}` segments: `/api/v1/approvals/{id}`. */
export interface Route {
  methods: string[];
  /** /health and /ready are for probes: no token, no concurrency slot. */
  public?: boolean;
  /** Long-lived (the audit SSE stream): holds no concurrency slot. */
  stream?: boolean;
  handle(req: IncomingMessage, res: ServerResponse, ctx: RequestContext, body: unknown): Promise<void> | void;
}

export interface RouteMatch {
  route: Route;
  /** The `{name}` segments of the pattern, percent-decoded. */
  params: Record<string, string>;
}

/**
 * Finds the route for a path. Exact patterns win over patterns with parameters; a parameter matches
 * one non-empty segment (never a `/`), so `/api/v1/approvals/{id}` does not match `/api/v1/approvals/a/b`.
 * Returns undefined when nothing matches or a segment is not valid percent-encoding.
 */
export function matchRoute(routes: Record<string, Route>, pathname: string): RouteMatch | undefined {
  const exact = Object.hasOwn(routes, pathname) ? routes[pathname] : undefined;
  if (exact) return { route: exact, params: {} };
  const segments = pathname.split("/");
  for (const [pattern, route] of Object.entries(routes)) {
    if (!pattern.includes("{")) continue;
    const parts = pattern.split("/");
    if (parts.length !== segments.length) continue;
    const params: Record<string, string> = {};
    let ok = true;
    for (let i = 0; i < parts.length && ok; i++) {
      const part = parts[i]!;
      const seg = segments[i]!;
      const name = /^\{([a-z_][a-z0-9_]*)\}$/i.exec(part)?.[1];
      if (name === undefined) {
        ok = part === seg;
        continue;
      }
      if (seg === "") {
        ok = false;
        continue;
      }
      try {
        params[name] = decodeURIComponent(seg);
      } catch {
        return undefined;
      }
    }
    if (ok) return { route, params };
  }
  return undefined;
}
