import { join } from "node:path";
import { makeTempDir, removeDir } from "./tree.js";
import { startWarden, type WardenClient } from "./warden-client.js";

/**
 * The server's ways of holding roots, for suites that must hold in each: `normal` (the real tree),
 * `overlay` (`serve --overlay`: every writable root a copy-on-write workspace's merged view, commands
 * inside the workspace's namespace; kernel overlayfs), `fuse` (the same with
 * `--overlay-driver fuse`: fuse-overlayfs) and `copy` (`--overlay-driver copy`: a copy of the root
 * bound over its path). WARDEN_MODES=normal,overlay (any subset) narrows it.
 */
export type Mode = "normal" | "overlay" | "fuse" | "copy";
const ALL: Mode[] = ["normal", "overlay", "fuse", "copy"];
export const MODES: Mode[] = process.env.WARDEN_MODES?.split(",").filter((m): m is Mode => (ALL as string[]).includes(m)) ?? ALL;

/** Whether a mode serves the roots from a copy-on-write workspace (either driver). */
export const isWorkspaceMode = (mode: Mode): boolean => mode !== "normal";

/** The workspace driver of a workspace mode, for tests that open a workspace themselves. */
export const driverOf = (mode: Mode): string => (mode === "fuse" || mode === "copy" ? mode : "kernel");

/**
 * A count of tries for a mode: the fuse and copy modes run the same attacks with fewer tries (a
 * tenth, at least 20) to keep CI time modest; WARDEN_FUSE_TRIES=N (WARDEN_COPY_TRIES=N) runs N instead.
 */
export function triesFor(mode: Mode, tries: number): number {
  if (mode === "fuse") return Number(process.env.WARDEN_FUSE_TRIES ?? Math.max(20, Math.round(tries / 10)));
  if (mode === "copy") return Number(process.env.WARDEN_COPY_TRIES ?? Math.max(20, Math.round(tries / 10)));
  return tries;
}

/** serve's extra arguments for a mode: a workspace under `stateBase` (outside every root). */
export function modeArgs(mode: Mode, stateBase: string): string[] {
  if (mode === "normal") return [];
  return ["--overlay", ...(mode === "fuse" || mode === "copy" ? ["--overlay-driver", mode] : []), "--state-dir", join(stateBase, "state")];
}

/** `warden serve ARGS` in `mode`; in a workspace mode its workspace state lies in a temp dir of its own (outside every root), removed at close. */
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
  return isWorkspaceMode(mode) ? `/proc/${holderPid(w)}/root${path}` : path;
}

/** A prefix that runs a host program where the agent's commands act (inside the workspace's namespace in overlay mode). */
export function inView(mode: Mode, w: WardenClient): string[] {
  if (mode === "normal") return [];
  const asRoot = process.geteuid?.() === 0;
  return ["nsenter", `--target=${holderPid(w)}`, ...(asRoot ? ["--mount"] : ["--user", "--mount", "--preserve-credentials"]), "--"];
}
