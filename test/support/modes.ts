import { join } from "node:path";
import { makeTempDir, removeDir } from "./tree.js";
import { startWarden, type WardenClient } from "./warden-client.js";

/**
 * The server's two ways of holding roots, for suites that must hold in both: `normal` (the real
 * tree) and `overlay` (`serve --overlay`: every writable root a copy-on-write workspace's merged
 * view, commands inside the workspace's namespace). WARDEN_MODES=normal (or overlay) runs one.
 */
export type Mode = "normal" | "overlay";
export const MODES: Mode[] = (process.env.WARDEN_MODES?.split(",").filter((m): m is Mode => m === "normal" || m === "overlay") ?? ["normal", "overlay"]);

/** serve's extra arguments for a mode: a workspace under `stateBase` (outside every root). */
export function modeArgs(mode: Mode, stateBase: string): string[] {
  return mode === "overlay" ? ["--overlay", "--state-dir", join(stateBase, "state")] : [];
}

/** `warden serve ARGS` in `mode`; in overlay mode its workspace state lies in a temp dir of its own (outside every root), removed at close. */
export async function startInMode(mode: Mode, args: string[]): Promise<WardenClient> {
  if (mode === "normal") return startWarden(args);
  const stateBase = makeTempDir("warden-state-");
  let w: WardenClient;
  try {
    w = await startWarden([...args, ...modeArgs(mode, stateBase)]);
  } catch (err) {
    removeDir(stateBase);
    throw err;
  }
  return { ...w, close: () => w.close().finally(() => removeDir(stateBase)) };
}

/** The holder pid of a server started in overlay mode, from its start-up line. */
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
  return mode === "overlay" ? `/proc/${holderPid(w)}/root${path}` : path;
}

/** A prefix that runs a host program where the agent's commands act (inside the workspace's namespace in overlay mode). */
export function inView(mode: Mode, w: WardenClient): string[] {
  if (mode === "normal") return [];
  const asRoot = process.geteuid?.() === 0;
  return ["nsenter", `--target=${holderPid(w)}`, ...(asRoot ? ["--mount"] : ["--user", "--mount", "--preserve-credentials"]), "--"];
}
