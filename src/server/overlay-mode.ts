import { randomBytes } from "node:crypto";
import { resolve } from "node:path";
import { exposedStateDir } from "../config/audit-files.js";
import { RootHolder } from "../config/held-roots.js";
import { mergedRootOpener, type MergedRoots } from "../config/merged-roots.js";
import { whichSync } from "../exec/native/which.js";
import type { BackendSelection } from "../exec/select-backend.js";
import { isWithin, type EffectiveRoot } from "../policy/roots.js";
import type { Policy } from "../policy/schema/index.js";
import { defaultStateDir, DRIVER_NAMES, futureStateDir, openWorkspace, WorkspaceError, type DriverAttempt, type WorkspaceHandle } from "../workspace/index.js";

/** serve's copy-on-write flags (`--overlay`, `--workspace`, `--state-dir`, `--overlay-driver`). */
export interface OverlayFlags {
  overlay?: boolean;
  workspace?: string;
  stateDir?: string;
  driver?: string;
  /** `--workspace-per-session` (HTTP): every MCP session gets its own workspace (server/session-workspaces.ts). */
  perSession?: boolean;
}

/** What get_system_info and the start-up line say about the workspace in use. */
export interface OverlayFacts {
  workspace: string;
  /** The driver in use (workspace/drivers.ts). */
  driver: string;
  /** The drivers `auto` passed over first, each with why it was not usable. */
  fallback_from?: DriverAttempt[];
  /** What the driver in use loses against an overlay (the copy driver says). */
  driver_loses?: string;
  state_dir: string;
  holder_pid: number;
  /** The roots that are copy-on-write views, each with the upper layer where its writes land. */
  roots: { path: string; upper: string }[];
  /** Every MCP session has a workspace of its own; this one serves the REST API. */
  perSession?: boolean;
}

/** serve --overlay, opened: the workspace and the roots held in its merged views (commands enter it from those). */
export interface OverlayMode {
  facts: OverlayFacts;
  /** Holds every root: inside a workspace root in the merged view, elsewhere (read-only roots) in the host. */
  holder: RootHolder;
  configuredRoots: EffectiveRoot[];
  fallbackRoot: EffectiveRoot;
  handle: WorkspaceHandle;
  close(): Promise<void>;
}

/** Whether serve runs in overlay mode: `--overlay`, or the policy's `workspace.mode: "overlay"`. */
export function overlayWanted(flags: OverlayFlags | undefined, policy: Policy): boolean {
  return flags?.overlay === true || flags?.perSession === true || policy.workspace.mode === "overlay";
}

/**
 * A workspace's merged views of `roots`, as the file tools open them (config/merged-roots.ts): in
 * its holder's namespace, on its driver's filesystem, with each root's layers as the kernel driver
 * mounted them (for reads of files no layer holds: sandbox/host/lower-twin.ts).
 */
export function mergedRootsOf(handle: WorkspaceHandle, roots: readonly string[]): MergedRoots {
  return { via: `/proc/${handle.holderPid}/root`, roots, fsType: handle.fsType, layers: roots.map((r) => handle.merged.find((m) => m.root === r)?.layers) };
}

/** A fresh workspace name when none is given: sortable by time, unique enough to never collide. */
export function freshWorkspaceName(now = new Date()): string {
  return `ws-${now.toISOString().replace(/[-:]/g, "").replace(/\..*$/, "")}-${randomBytes(3).toString("hex")}`;
}

/**
 * Opens (or re-opens, by name: it survives a crash) the workspace for serve --overlay and re-holds
 * every root in it: the writable roots (or, with none configured, the working directory) become the
 * workspace's merged views, which the file tools open by descriptor and commands see at the same
 * paths inside the workspace's namespace. The real tree is never written. Refuses, naming the fix,
 * whatever it cannot serve that way (another backend, unconfined commands, an unknown driver).
 */
export async function openOverlayMode(input: {
  flags: OverlayFlags | undefined;
  policy: Policy;
  selection: BackendSelection;
  configuredRoots: EffectiveRoot[];
  fallbackRoot: EffectiveRoot;
  cwd: string;
  env: NodeJS.ProcessEnv;
}): Promise<OverlayMode> {
  const { policy, selection } = input;
  if (selection.backend !== "native") {
    throw new WorkspaceError(
      `--overlay needs the native backend (commands run under bubblewrap inside the workspace's namespace); the ${selection.backend} backend cannot see the copy-on-write view. Start with --backend native, or without --overlay`,
      "usage",
    );
  }
  if (policy.execution.confinement !== "bubblewrap") {
    throw new WorkspaceError('--overlay needs execution.confinement "bubblewrap": an unconfined command would reach the real tree. Set it, or start without --overlay', "usage");
  }
  const driver = input.flags?.driver ?? policy.workspace.driver;
  if (driver !== "auto" && !DRIVER_NAMES.includes(driver)) {
    throw new WorkspaceError(`overlay driver "${driver}" does not exist: choose auto or one of ${DRIVER_NAMES.join(", ")} (see docs/EVALUATION.md)`, "usage");
  }
  const nsenter = whichSync("nsenter", ["/usr/bin", "/bin", "/usr/sbin", "/sbin", "/usr/local/bin"]);
  if (!nsenter) throw new WorkspaceError("--overlay needs nsenter (util-linux) to run commands inside the workspace's namespace; install util-linux");

  const configured = input.configuredRoots.length > 0 ? input.configuredRoots : [input.fallbackRoot];
  const writable = configured.filter((r) => r.writable);
  if (writable.length === 0) throw new WorkspaceError("--overlay: every root is read-only, so there is nothing to keep copy-on-write; give a --root, or start without --overlay", "usage");
  // One overlay per outermost writable root; a root nested in one is reached through its view.
  const covered = writable.filter((r) => !writable.some((o) => o !== r && o.path !== r.path && isWithin(o.path, r.path))).map((r) => r.path);
  const roots = [...new Set(covered)];
  const stateDir = resolve(input.cwd, input.flags?.stateDir ?? defaultStateDir(input.env));
  const exposed = exposedStateDir(futureStateDir(stateDir), configured);
  if (exposed) throw new WorkspaceError(exposed, "usage");
  const handle = await openWorkspace({ stateDir, name: input.flags?.workspace ?? freshWorkspaceName(), roots, driver, env: input.env });
  try {
    const holder = new RootHolder(mergedRootOpener(mergedRootsOf(handle, roots)));
    const rehold = (r: EffectiveRoot): EffectiveRoot => ({ ...r, held: holder.hold(r.path) });
    let configuredRoots: EffectiveRoot[];
    let fallbackRoot: EffectiveRoot;
    try {
      configuredRoots = input.configuredRoots.map(rehold);
      fallbackRoot = rehold(input.fallbackRoot);
    } catch (err) {
      holder.close();
      throw err;
    }
    // With nothing configured, the working directory is the root, and a client's roots may only narrow it:
    // a client root outside it would be a real directory, written for real.
    if (configuredRoots.length === 0) configuredRoots = [fallbackRoot];
    const facts: OverlayFacts = {
      workspace: handle.name,
      driver: handle.driver,
      ...(handle.passedOver.length > 0 ? { fallback_from: handle.passedOver } : {}),
      ...(handle.driverLoses ? { driver_loses: handle.driverLoses } : {}),
      state_dir: handle.dir.slice(0, handle.dir.lastIndexOf("/workspaces/")),
      holder_pid: handle.holderPid,
      roots: handle.merged.map((m) => ({ path: m.root, upper: m.upperDir })),
      ...(input.flags?.perSession ? { perSession: true } : {}),
    };
    return {
      facts,
      holder,
      configuredRoots,
      fallbackRoot,
      handle,
      async close() {
        holder.close();
        await handle.close();
      },
    };
  } catch (err) {
    await handle.close();
    throw err;
  }
}

/** The start-up line's part about the workspace. */
export function overlaySummary(facts: OverlayFacts): string {
  const each = facts.perSession ? `; every MCP session gets its own workspace (${facts.workspace}-s<session>), this one serves the REST API` : "";
  const why = facts.fallback_from?.length ? `, because ${facts.fallback_from.map((a) => `${a.driver} was not usable: ${a.reason}`).join("; ")}` : "";
  const loses = facts.driver_loses ? `; the ${facts.driver} driver loses: ${facts.driver_loses}` : "";
  return `copy-on-write workspace ${facts.workspace} (driver: ${facts.driver}${why}${loses}; state dir ${facts.state_dir}; holder pid ${facts.holder_pid}): writes land in the workspace, the real tree is never modified; see \`warden workspace diff ${facts.workspace}\`${each}`;
}
