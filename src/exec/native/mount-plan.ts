import type { HostLayout } from "./host-layout.js";
import { parentOf } from "./mask-bound.js";

/** Where HOME points inside the sandbox: an empty directory, so no dotfile or credential of the user is visible. */
export const SANDBOX_HOME = "/home/warden";

/**
 * A file's identity: device and inode as decimal strings. `ctime` (nanoseconds) is set for the
 * directories that hold deny masks: their entries must be those the deny scan judged, so the gate
 * finds their ctime unchanged (no entry added, removed or renamed since), or nothing starts.
 */
export interface FileId {
  dev: string;
  ino: string;
  ctime?: string;
}

/** A root as the launcher hands it to bubblewrap: by descriptor (`slot` is its fd number in bubblewrap's process). */
export interface PlanRoot {
  path: string;
  writable: boolean;
  slot: number;
  id: FileId;
}

/** A directory inside a root bound onto itself (so it cannot be renamed), with the access of the innermost root holding it. */
export interface PlanPin {
  path: string;
  writable: boolean;
  id: FileId;
}

/** The empty, read-only file and directory that cover what the sandbox hides. */
export interface MaskSources {
  file: { path: string; id: FileId };
  dir: { path: string; id: FileId };
}

export interface MountPlanInput {
  roots: PlanRoot[];
  /** Directories between a root and a deny mask or a nested root (open-binds.ts). */
  pins: PlanPin[];
  /** Absolute paths inside the roots that filesystem.deny hides (deny-masks.ts). */
  masks: { files: string[]; dirs: string[] };
  /** Needed when there is anything to hide (always, in practice: /etc has secrets). */
  maskSources: MaskSources;
  cwd: string;
  network: boolean;
  /**
   * Attach the pins and masks inside the roots by descriptor (mask-attach.ts) instead of bubblewrap
   * binds by path. Default false (the docker backend's binds, a host without the helper).
   */
  attachMasks?: boolean;
}

/**
 * Where bubblewrap binds the empty file and directory (`/file`, `/dir`) for the mask helper to clone
 * inside the sandbox; the helper removes it before the command starts. On bubblewrap's own root
 * tmpfs, so only a root "/" could hold it (then the masks stay bubblewrap binds).
 */
export const MASK_STAGE = "/.warden-mask-sources";

/**
 * A mount inside a root that the launcher attaches by descriptor (native/mask-attach.c). A deny
 * mask (`file`, `dir`): the directory holding it must be `holder` (the root or pin bound there), the
 * entry `path` of `kind`. A `pin`: the directory `path` itself must be `holder`, and is bound onto
 * itself with whatever is mounted below it.
 */
export interface MaskAttach {
  kind: "file" | "dir" | "pin";
  path: string;
  holder: FileId;
}

/**
 * One mount the command must find in place before its first instruction (mount-check.ts):
 * what `dest` must show (its device and inode), and for a directory bound onto itself whether the
 * mount must sit on that very directory (`self`), so the original is not reachable beside it.
 */
export interface PlannedMount {
  dest: string;
  expect: FileId;
  self: boolean;
}

/**
 * One bind of the plan in a runtime-neutral shape, for a runtime that takes a list of binds by
 * path (docker/container-mounts.ts). A root's `source` is its own path: bubblewrap gets its
 * descriptor instead; a runtime that binds it by path must check the result from outside
 * (`mounts`), as the docker backend does.
 */
export interface PlanBind {
  source: string;
  dest: string;
  writable: boolean;
}

export interface MountPlan {
  /** bubblewrap's arguments, up to (not including) `--`. */
  args: string[];
  mounts: PlannedMount[];
  /** The binds that stay visible (none covered by a later one), in the order they are made. */
  binds: PlanBind[];
  /** Pins and masks inside the roots left out of `args`, to attach by descriptor (`attachMasks`), in order. */
  attach: MaskAttach[];
  /** The sources the masks were planned with (what `mounts` expects to find on them). */
  sources: MaskSources;
}

/**
 * THE place that decides what a command sees (pure; tested in isolation). The sandbox root is an
 * empty tmpfs: system directories read-only (their secrets covered), a private /tmp, an empty HOME,
 * the roots bound by descriptor, pins, and masks over what filesystem.deny hides. No path string
 * that content inside a root can change is a bind source: roots come by descriptor, pins and masks
 * have their own or trusted sources, and every destination is checked from the sandbox's side
 * before the command starts (`mounts`).
 */
export function mountPlan(input: MountPlanInput, layout: HostLayout): MountPlan {
  const args = ["--unshare-pid", "--unshare-ipc", ...(input.network ? [] : ["--unshare-net"]), "--die-with-parent", "--new-session", "--cap-drop", "ALL"];
  const mounts: PlannedMount[] = [];
  const planBinds: PlanBind[] = [];
  const bound: string[] = [];
  /** `onto`: the source is the directory at `dest` itself (a root or a pin), not a mask over it. `path`: the source by path. */
  const attach: MaskAttach[] = [];
  const held = new Map<string, FileId>([...input.pins.map((p) => [p.path, p.id] as const), ...input.roots.map((r) => [r.path, r.id] as const)]);
  /** `attached`: a mount the launcher attaches by descriptor, not a bubblewrap argument (a pin is its own holder). */
  const bind = (flag: string, source: string, dest: string, expect: FileId | undefined, onto = false, path = source, attached?: MaskAttach["kind"]) => {
    const holder = attached && held.get(attached === "pin" ? dest : parentOf(dest));
    if (holder) attach.push({ kind: attached, path: dest, holder });
    else args.push(flag, source, dest);
    if (expect) mounts.push({ dest, expect, self: onto && bound.some((b) => isStrictlyUnder(b, dest)) });
    planBinds.push({ source: path, dest, writable: flag === "--bind" || flag === "--bind-fd" });
    bound.push(dest);
  };
  for (const entry of layout.system) {
    if (entry.symlink !== undefined) args.push("--symlink", entry.symlink, entry.path);
    else bind("--ro-bind", entry.path, entry.path, entry.id);
  }
  // HOME and /var/tmp are plain directories on bubblewrap's own root tmpfs: private and empty.
  args.push("--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp", "--dir", "/var/tmp", "--dir", SANDBOX_HOME);
  // Roots and pins, shallow before deep: a deeper read-only root must come after a pin or root
  // above it, or that recursive bind would cover it read-write. With the helper, pins are attached
  // by descriptor after bubblewrap (each a clone of the judged directory with what is mounted below
  // it, a deeper root included), so bubblewrap never resolves a path inside a root for them.
  const attaching = input.attachMasks === true && !input.roots.some((r) => r.path === "/");
  const rootPaths = new Set(input.roots.map((r) => r.path));
  const binds: ({ kind: "root"; root: PlanRoot } | { kind: "pin"; pin: PlanPin })[] = [
    ...input.roots.map((root) => ({ kind: "root" as const, root })),
    ...input.pins.filter((p) => !rootPaths.has(p.path)).map((pin) => ({ kind: "pin" as const, pin })),
  ];
  binds.sort((a, b) => depth(pathOf(a)) - depth(pathOf(b)));
  for (const b of binds) {
    if (b.kind === "root") bind(b.root.writable ? "--bind-fd" : "--ro-bind-fd", String(b.root.slot), b.root.path, b.root.id, true, b.root.path);
    else bind(b.pin.writable ? "--bind" : "--ro-bind", b.pin.path, b.pin.path, b.pin.id, true, b.pin.path, attaching ? "pin" : undefined);
  }
  // Masks last, so a root covering /etc cannot uncover the host's secrets, and a root cannot
  // uncover a deny match inside another.
  const { file, dir } = input.maskSources;
  for (const f of layout.maskedFiles) bind("--ro-bind", file.path, f, file.id);
  for (const d of layout.maskedDirs) bind("--ro-bind", dir.path, d, dir.id);
  // Inside the roots, bubblewrap would make a missing mount point by path, with creat() (which
  // truncates): a rename on the host at that moment emptied a real file. Attached by descriptor
  // after bubblewrap (native/mask-attach.c), they are made by no one and land on the judged entries.
  // A mask whose directory is no root or pin (a root hidden whole) stays a bubblewrap bind: it
  // covers a mount point bubblewrap made itself.
  for (const d of input.masks.dirs) bind("--ro-bind", dir.path, d, dir.id, false, dir.path, attaching ? "dir" : undefined);
  for (const f of input.masks.files) bind("--ro-bind", file.path, f, file.id, false, file.path, attaching ? "file" : undefined);
  if (attach.some((a) => a.kind !== "pin")) args.push("--ro-bind", file.path, `${MASK_STAGE}/file`, "--ro-bind", dir.path, `${MASK_STAGE}/dir`);
  // bubblewrap starts in /, on its own tmpfs, never in a root: a process entering a directory
  // before a mount covers it keeps the directory underneath (and the sandbox's pid 1, bubblewrap,
  // would keep it as /proc/1/cwd for the command to read). The gate enters `cwd` once every mount
  // is in place (mount-gate.ts gatedCommand).
  args.push("--chdir", "/");
  return { args, mounts: visible(mounts), binds: visible(planBinds), attach, sources: input.maskSources };
}

/**
 * The mounts a command will find in place: one covered by a later mount at the same place or above
 * it (a root hidden whole because its content was not checked in time, a pin under a masked
 * directory) is not there to check; the mount that covers it is.
 */
function visible<M extends { dest: string }>(mounts: M[]): M[] {
  return mounts.filter((m, i) => !mounts.slice(i + 1).some((later) => later.dest === m.dest || isStrictlyUnder(later.dest, m.dest)));
}

function pathOf(b: { kind: "root"; root: PlanRoot } | { kind: "pin"; pin: PlanPin }): string {
  return b.kind === "root" ? b.root.path : b.pin.path;
}

function isStrictlyUnder(parent: string, child: string): boolean {
  return parent === "/" ? child !== "/" : child.startsWith(parent + "/");
}

function depth(path: string): number {
  return path === "/" ? 0 : path.split("/").length;
}
