import { fileURLToPath } from "node:url";
import { isWithin, type EffectiveRoot } from "../../policy/roots.js";

export type GuestPath = { ok: true; path: string } | { ok: false; rule: string; message: string };

/**
 * Spells a tool's path argument the way the sandbox understands it: an absolute path whose prefix
 * names a preopen. This only rewrites spelling (relative -> under the first root, `file://` URI ->
 * path, a root's alias -> its canonical path); it decides nothing. Whether the path is reachable is
 * decided by the sandbox's resolver alone, component by component.
 */
export function toGuestPath(input: string, roots: EffectiveRoot[]): GuestPath {
  if (input.includes("\0")) return { ok: false, rule: "input.path", message: "path contains a NUL byte" };
  if (input.length === 0) return { ok: false, rule: "input.path", message: "path is empty" };
  if (roots.length === 0) return { ok: false, rule: "roots.none", message: "no roots are allowed in this session" };
  let path = input;
  if (/^file:/i.test(path)) {
    try {
      path = fileURLToPath(path);
    } catch {
      return { ok: false, rule: "input.path", message: "not a valid local file:// URI" };
    }
  }
  if (!path.startsWith("/")) {
    const first = roots[0]!.path;
    path = path === "." || path === "./" ? first : `${first === "/" ? "" : first}/${path}`;
  }
  for (const root of roots) {
    for (const alias of root.aliases ?? []) {
      if (alias !== root.path && isWithin(alias, path) && !roots.some((r) => isWithin(r.path, path))) {
        path = root.path + path.slice(alias.length);
      }
    }
  }
  return { ok: true, path };
}
