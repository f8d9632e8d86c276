import { ExecRefusal } from "../errors.js";
import type { ExecRequest } from "../types.js";
import { EMPTY_MASKS, type DenyMaskCache, type DenyMasks } from "./deny-masks.js";
import type { HostLayout } from "./host-layout.js";
import { parentOf } from "./mask-bound.js";
import { MOUNTS_RULE } from "./mount-gate.js";
import { mountPlan, type FileId, type MaskSources, type MountPlan } from "./mount-plan.js";
import { CHANGED_RULE, openBinds, type OpenedBinds } from "./open-binds.js";

/** Same default as policy execution.deny_scan_limit, for requests that do not carry the knob. */
const DEFAULT_DENY_SCAN_LIMIT = 200_000;

export interface CommandMountsDeps {
  /** The backend's filesystem.deny index (one per backend instance). */
  denyMasks: DenyMaskCache;
  maskSources: { get(): MaskSources };
  /** The host's system directories (native); an empty layout where the runtime brings its own (docker). */
  layout: HostLayout;
  /** Descriptor number of the first root in the launcher (native: mount-gate.ts GATE_FD.firstRoot). */
  firstSlot: number;
  /** The launcher attaches the masks inside the roots by descriptor (native, with mask-attach.ts's helper). */
  attachMasks?: boolean;
}

/** Tries at preparing a command before a refusal because something inside a root moved reaches the caller. */
const PREPARE_ATTEMPTS = 3;

/**
 * Prepares a command (`attempt`) again from a fresh scan, up to PREPARE_ATTEMPTS times in all, when
 * it was refused because something inside a root moved while it was prepared (nothing ran:
 * `sandbox.changed`, `sandbox.mounts`). After a holder of masks was found changed, the next try
 * lifts unscanned masks one level more (`lift`, lift-masks.ts): it only ever hides more.
 */
export async function prepareAgainWhenMoved<T>(attempt: (lift: number) => Promise<T>, signal?: AbortSignal): Promise<T> {
  let lift = 0;
  for (let n = 1; ; n++) {
    try {
      return await attempt(lift);
    } catch (err) {
      const moved = err instanceof ExecRefusal && (err.rule === CHANGED_RULE || err.rule === MOUNTS_RULE);
      if (!moved || n >= PREPARE_ATTEMPTS || signal?.aborted) throw err;
      if (err.rule === MOUNTS_RULE) lift++;
    }
  }
}

/** Starts the filesystem.deny check of a command's roots ahead of it (ExecBackend.warm). */
export function warmMounts(request: Pick<ExecRequest, "roots" | "denyGlobs" | "denyScanLimit">, deps: Pick<CommandMountsDeps, "denyMasks">): void {
  if (request.denyGlobs?.length) deps.denyMasks.warm(request.roots, request.denyGlobs, request.denyScanLimit ?? DEFAULT_DENY_SCAN_LIMIT);
}

/**
 * What a command will see, for every backend that binds the roots (native bubblewrap, docker):
 * its roots held by descriptor, the filesystem.deny matches inside them hidden (a fresh mask set
 * from the backend's cache), and the mounts that must be found in place before the command runs.
 * The caller releases `binds` once the mounts were checked. `lift`: times liftUnscanned is applied
 * to the masks (a try after a gate found a holder changed; lift-masks.ts).
 */
export async function commandMounts(
  request: Pick<ExecRequest, "roots" | "denyGlobs" | "denyScanLimit" | "denyScanBudgetMs" | "cwd"> & { limits: Pick<ExecRequest["limits"], "network"> },
  deps: CommandMountsDeps,
  lift = 0,
): Promise<{ plan: MountPlan; binds: OpenedBinds }> {
  // Roots first: one that is not the held directory any more is refused by name before anything walks it.
  openBinds(request.roots, []).release();
  const masks = request.denyGlobs?.length
    ? await deps.denyMasks.masksFor(request.roots, request.denyGlobs, { maxDirs: request.denyScanLimit ?? DEFAULT_DENY_SCAN_LIMIT, budgetMs: request.denyScanBudgetMs, lift })
    : EMPTY_MASKS;
  const binds = openBinds(request.roots, masks.pins, masks.ids);
  try {
    const held = maskHolders(masks);
    const plan = mountPlan(
      {
        roots: binds.roots.map((r, i) => ({ path: r.path, writable: r.writable, id: held(r.path, r.id), slot: deps.firstSlot + i })),
        pins: binds.pins.map((p) => ({ ...p, id: held(p.path, p.id) })),
        masks,
        maskSources: deps.maskSources.get(),
        cwd: request.cwd,
        network: request.limits.network,
        attachMasks: deps.attachMasks,
      },
      deps.layout,
    );
    return { plan, binds };
  } catch (err) {
    binds.release();
    throw err;
  }
}

/**
 * The identity the check must find for a directory bound in the sandbox: for one that holds deny
 * masks directly, with the ctime the deny scan saw (its entries unchanged since: the masks sit on
 * the files they were planned for). Throws ExecRefusal when the scan did not judge such a directory.
 */
function maskHolders(masks: DenyMasks): (path: string, id: FileId) => FileId {
  const holders = new Set([...masks.files, ...masks.dirs].map(parentOf));
  return (path, id) => {
    if (!holders.has(path)) return id;
    const seen = masks.ids?.get(path);
    if (!seen) throw new ExecRefusal(CHANGED_RULE, `${path} holds deny masks the scan did not plan; nothing ran, run the command again`);
    return { ...id, ctime: String(seen.ctimeNs) };
  };
}
