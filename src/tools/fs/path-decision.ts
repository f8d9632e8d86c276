import { isWithin, type EffectiveRoot } from "../../policy/roots.js";
import type { ToolContext } from "../tool.js";
import { toGuestPath } from "./guest-path.js";
import { callModule } from "./module-call.js";

/** What the file tools would answer for a path: allowed (with the canonical path and its root), or the rule that refuses it. */
export type PathDecision =
  | { allow: true; rule: "allow"; reason: string; real: string; root: EffectiveRoot | undefined }
  | { allow: false; rule: string; reason: string };

/**
 * The decision the file tools take on a path, asked of the same resolver they use (the `stat`
 * module in the sandbox: respelling, deny globs on every component walked, symlinks, the roots),
 * then write access. A path that does not exist yet is judged by its parent for a write (it may be
 * created there). Nothing is read or changed. `warden check --path` and `warden audit replay` ask it.
 */
export async function decidePath(ctx: ToolContext, path: string, write: boolean): Promise<PathDecision> {
  const call = await callModule(ctx, "stat", path, []);
  if (!call.ok) {
    const outcome = call.outcome as { rule: string; message: string };
    if (outcome.rule === "fs.not_found" && write) {
      // The parent of the path as the tools spell it (a relative path is under the first root).
      const guest = toGuestPath(path, await ctx.roots());
      const parent = guest.ok ? guest.path.replace(/\/+[^/]+\/*$/, "") || "/" : path;
      if (parent !== path && guest.ok && parent !== guest.path) return decidePath(ctx, parent, true);
    }
    return { allow: false, rule: outcome.rule, reason: outcome.message };
  }
  // realpath is the rest of the line (it may contain spaces).
  const line = Buffer.from(call.stdout).toString("utf8").replace(/\n$/, "");
  const real = /(?:^| )realpath=(.*)$/.exec(line)?.[1] ?? call.path;
  const root = [...call.roots].sort((a, b) => b.path.length - a.path.length).find((r) => isWithin(r.path, real));
  if (write && root && !root.writable) return { allow: false, rule: "filesystem.read_only", reason: `${real} is in read-only root ${root.path}` };
  return { allow: true, rule: "allow", reason: `${real} (root ${root?.path ?? "?"}, ${root?.writable ? "read-write" : "read-only"})`, real, root };
}
