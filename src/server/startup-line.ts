import { describeSource } from "../policy/roots.js";
import type { WardenDeps } from "./deps.js";

/**
 * The roots part of the start-up line (stdio and HTTP alike): every configured root with its
 * access and where it came from, and what the client's roots will do to them.
 */
export function rootsSummary(deps: WardenDeps): string {
  const readOnly = deps.policy.filesystem.read_only ? "; every root read-only (policy filesystem.read_only)" : "";
  if (deps.configuredRoots.length === 0) {
    const cwd = `${deps.fallbackRoot.path} (working directory)`;
    return `roots: ${deps.clientRoots === "ignore" ? `${cwd}; client roots ignored` : `the client's roots, else ${cwd}`}${readOnly}`;
  }
  const roots = deps.configuredRoots.map((r) => `${r.path} (${describeSource(r)})`).join(", ");
  const client = deps.clientRoots === "ignore" ? "client roots ignored (--client-roots ignore)" : "client roots can only narrow them";
  return `roots: ${roots}; ${client}${readOnly}`;
}
