import { join } from "node:path";
import type { WardenClient } from "./warden-client.js";

/**
 * The server's ways of holding roots, for suites that must hold in all: `normal` (the real tree),
 * `overlay` (`serve --overlay`: every writable root a copy-on-write workspace's merged view, commands
 * inside the workspace's namespace) and `copy` (the same with `--overlay-driver copy`: the view is a
 * copy of the root bound over its path). WARDEN_MODES=normal (or overlay, copy; a comma list) narrows it.
 */
export type Mode = "normal" | "overlay" | "copy";
export const MODES: Mode[] = (process.env.WARDEN_MODES?.split(",").filter((m): m is Mode => m === "normal" || m === "overlay" || m === "copy") ?? ["normal", "overlay", "copy"]);

/**
 * How many of `n` tries (or cases) a race or corpus runs in `mode`. Copy mode re-runs suites whose
 * races are the overlay's too (the same holder, namespace and descriptor walk; only the view's
 * filesystem differs), so in CI it runs a fifth of them to stay within its time budget;
 * WARDEN_COPY_EFFORT=1 runs them all (the figures in docs/CONFINEMENT.md are from a full run).
 */
export function effort(mode: Mode, n: number): number {
  if (mode !== "copy") return n;
  const share = Number(process.env.WARDEN_COPY_EFFORT ?? 0.2);
  return Math.max(1, Math.ceil(n * (share > 0 && share <= 1 ? share : 0.2)));
}

/** The workspace driver a mode opens (`openWorkspace`'s `driver`), or null in normal mode. */
export function modeDriver(mode: Mode): string | null {
  return mode === "normal" ? null : mode === "copy" ? "copy" : "auto";
}

/** serve's extra arguments for a mode: a workspace under `stateBase` (outside every root). */
export function modeArgs(mode: Mode, stateBase: string): string[] {
  if (mode === "normal") return [];
  return ["--overlay", ...(mode === "copy" ? ["--overlay-driver", "copy"] : []), "--state-dir", join(stateBase, "state")];
}

/** The holder pid of a server started in overlay (or copy) mode, from its start-up line. */
export function holderPid(w: WardenClient): number {
  const m = /holder pid (\d+)/.exec(w.stderr());
  if (!m) throw new Error(`no workspace holder in the server's stderr:\n${w.stderr()}`);
  return Number(m[1]);
}

/**
 * Where a path inside a root is as the tools and commands see it: the path itself in normal mode,
 * the workspace's merged view (reached through the holder's /proc root) in overlay mode. For test
 * assertions only: the server never follows a symlink under it.
 */
export function seen(mode: Mode, w: WardenClient, path: string): string {
  return mode === "normal" ? path : `/proc/${holderPid(w)}/root${path}`;
}

/** A prefix that runs a host program where the agent's commands act (inside the workspace's namespace in overlay mode). */
export function inView(mode: Mode, w: WardenClient): string[] {
  if (mode === "normal") return [];
  const asRoot = process.geteuid?.() === 0;
  return ["nsenter", `--target=${holderPid(w)}`, ...(asRoot ? ["--mount"] : ["--user", "--mount", "--preserve-credentials"]), "--"];
}
