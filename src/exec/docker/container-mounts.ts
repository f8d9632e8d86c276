import type { HostLayout } from "../native/host-layout.js";
import { verifyMounts } from "../native/mount-check.js";
import type { MountPlan, PlannedMount } from "../native/mount-plan.js";

/** The container brings its own system directories (the image, or volume_mount's host binaries): the plan adds none. */
export const CONTAINER_LAYOUT: HostLayout = { system: [], maskedFiles: [], maskedDirs: [] };

/** One entry of the Engine API's `HostConfig.Mounts` (a bind). */
export interface DockerBindMount {
  Type: "bind";
  Source: string;
  Target: string;
  ReadOnly: boolean;
  BindOptions: { Propagation: "rprivate" };
}

/**
 * The plan's binds (mount-plan.ts, the one place that decides what a command sees) as the Engine
 * API takes them: roots, pins and deny masks, in plan order, as structured mounts rather than
 * `src:dst:mode` strings (a mask's path is a file name inside a root: a `:` in it must not change
 * what is bound). dockerd binds by path and sorts by depth, which keeps the plan's order (shallow
 * before deep; a mask never has a bind below it): what it made is checked from outside afterwards.
 */
export function dockerMounts(plan: Pick<MountPlan, "binds">): DockerBindMount[] {
  return plan.binds.map((b) => ({ Type: "bind", Source: b.source, Target: b.dest, ReadOnly: !b.writable, BindOptions: { Propagation: "rprivate" } }));
}

/**
 * Whether a container made from plan `had` shows what a fresh plan `wants`: the same mounts at the
 * same places, with the same identities (device and inode) and the same self-binds. Not the ctime
 * of the directories holding masks: commands writing ordinary files change it, and once made, a
 * container's masks sit on the files' dentries (a rename moves them along, in place() catches
 * what no longer sits where planned). Equal, not merely covering: a container that hides more
 * (a directory hidden whole while it was not checked in time) would keep hiding it.
 */
export function sameView(had: readonly PlannedMount[], wants: readonly PlannedMount[]): boolean {
  if (had.length !== wants.length) return false;
  const key = (m: PlannedMount) => `${m.dest}\0${m.expect.dev}:${m.expect.ino}\0${m.self}`;
  const mine = new Set(had.map(key));
  return wants.every((m) => mine.has(key(m)));
}

/**
 * Checks from outside that a running container still shows its plan (mount-check.ts), ignoring
 * the ctime of mask holders (see sameView). A host process that removed or replaced a masked file
 * (the mount is detached from every namespace), renamed it or a directory above it (the mount
 * moves along with it) or replaced a pinned directory makes this fail. Returns why, or null.
 */
export function inPlace(pid: number, mounts: readonly PlannedMount[]): string | null {
  return verifyMounts(
    pid,
    mounts.map((m) => ({ ...m, expect: { dev: m.expect.dev, ino: m.expect.ino } })),
  );
}
