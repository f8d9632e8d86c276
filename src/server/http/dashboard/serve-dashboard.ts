import { readFileSync } from "node:fs";
import type { ServerResponse } from "node:http";
import { HttpError } from "../respond.js";

/** The page's files: a fixed list read once at start, so no request path ever reaches the filesystem. */
const FILES: Record<string, string> = {
  "index.html": "text/html; charset=utf-8",
  "app.js": "text/javascript; charset=utf-8",
  "api.js": "text/javascript; charset=utf-8",
  "views.js": "text/javascript; charset=utf-8",
  "style.css": "text/css; charset=utf-8",
};

/** Scripts and styles from this origin only, no inline code, no framing; fetch to this origin only. */
export const DASHBOARD_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/**
 * GET /dashboard[/file]: the operator's page, static files served from memory. They hold no data
 * and no token, so they need none: everything the page shows comes from the token-protected API.
 */
export function dashboardFiles(): (res: ServerResponse, name: string | null) => void {
  const dir = new URL("./static/", import.meta.url);
  const files = new Map(Object.entries(FILES).map(([name, type]) => [name, { body: readFileSync(new URL(name, dir)), type }]));
  return (res, name) => {
    if (name === null) {
      res.writeHead(308, { location: "/dashboard/" });
      res.end();
      return;
    }
    const file = files.get(name);
    if (!file) throw new HttpError(404, "not_found", `no dashboard file ${JSON.stringify(name.slice(0, 100))}`);
    res.writeHead(200, {
      "content-type": file.type,
      "content-length": file.body.length,
      "content-security-policy": DASHBOARD_CSP,
      "x-content-type-options": "nosniff",
      "referrer-policy": "no-referrer",
      "x-frame-options": "DENY",
      "cache-control": "no-cache",
    });
    res.end(file.body);
  };
}
