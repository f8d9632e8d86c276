import { closeSync, constants, fstatSync, openSync, readFileSync } from "node:fs";
import type { PlannedMount } from "./mount-plan.js";

/** O_PATH: open the last component itself (file, directory, symlink) just to fstat it. */
const O_PATH = 0o10000000;
const DIR_FLAGS = constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW | constants.O_NONBLOCK | constants.O_NOCTTY;

/** One line of /proc/PID/mountinfo (the fields the check needs). */
export interface MountinfoLine {
  id: number;
  parent: number;
  /** major:minor of the filesystem. */
  dev: string;
  /** The mounted directory's path inside its filesystem. */
  root: string;
  /** Where it is mounted, relative to the reading process's root. */
  mountPoint: string;
}

/** Parses mountinfo text; paths are unescaped (the kernel writes space, tab, newline and backslash as octal). */
export function parseMountinfo(text: string): MountinfoLine[] {
  const out: MountinfoLine[] = [];
  for (const line of text.split("\n")) {
    const f = line.split(" ");
    if (f.length < 5) continue;
    out.push({ id: Number(f[0]), parent: Number(f[1]), dev: f[2]!, root: unescape(f[3]!), mountPoint: unescape(f[4]!) });
  }
  return out;
}

function unescape(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}

/**
 * Directories bound onto themselves (nested roots, pins) must sit on that very directory: the
 * topmost mount at `dest` is on the same filesystem as the mount holding it, and its directory's
 * path inside that filesystem is where `dest` lies in the parent mount. A bind that bubblewrap
 * placed elsewhere (a symlink swapped in on the destination's way) leaves the original directory
 * reachable beside it, unmasked or writable; this refuses it. Pure: returns why, or null.
 */
export function checkSelfBinds(mounts: readonly PlannedMount[], lines: readonly MountinfoLine[]): string | null {
  const byId = new Map(lines.map((l) => [l.id, l]));
  for (const m of mounts) {
    if (!m.self) continue;
    const line = topmost(lines, m.dest);
    if (!line) return `nothing is mounted at ${m.dest}`;
    const parent = byId.get(line.parent);
    // Stacked on the parent mount's own top (a host mount carried along at that place), or below it.
    const stacked = parent?.mountPoint === m.dest;
    if (!parent || (!stacked && !isUnder(parent.mountPoint, m.dest))) return `${m.dest} is not mounted inside the directory above it`;
    const rel = stacked ? "" : parent.mountPoint === "/" ? m.dest.slice(1) : m.dest.slice(parent.mountPoint.length + 1);
    const expected = rel === "" ? parent.root : parent.root === "/" ? `/${rel}` : `${parent.root}/${rel}`;
    if (line.dev !== parent.dev || line.root !== expected) return `${m.dest} is mounted over another directory than itself (${line.root} on ${expected})`;
  }
  return null;
}

/** The last (topmost) mount at `mountPoint`. */
function topmost(lines: readonly MountinfoLine[], mountPoint: string): MountinfoLine | undefined {
  for (let i = lines.length - 1; i >= 0; i--) if (lines[i]!.mountPoint === mountPoint) return lines[i];
  return undefined;
}

function isUnder(parent: string, child: string): boolean {
  return parent === "/" ? child !== "/" : child.startsWith(parent + "/");
}

/**
 * Checks a started sandbox against its plan from outside, before the command's first instruction
 * (the command waits at its gate): every planned mount's destination, walked from the sandbox's
 * own root one component at a time without following symlinks, shows the planned file or
 * directory (device and inode; for a directory holding deny masks, the ctime the deny scan saw:
 * its entries are still those the masks were planned for), and directories bound onto themselves
 * sit where they belong (checkSelfBinds on the sandbox's mountinfo). Returns why it does not
 * match, or null.
 */
export function verifyMounts(pid: number, mounts: readonly PlannedMount[]): string | null {
  const opened = new Map<string, number>();
  const close = () => {
    for (const fd of opened.values()) closeQuietly(fd);
  };
  try {
    // The sandbox's root, as the process sees it (a magic link: followed on purpose).
    opened.set("/", openSync(`/proc/${pid}/root`, constants.O_RDONLY | constants.O_DIRECTORY));
    for (const m of mounts) {
      const parts = m.dest.split("/").filter((p) => p !== "");
      let at = "";
      let dirFd = opened.get("/")!;
      for (const name of parts.slice(0, -1)) {
        at += `/${name}`;
        let fd = opened.get(at);
        if (fd === undefined) {
          try {
            fd = openSync(`/proc/self/fd/${dirFd}/${name}`, DIR_FLAGS);
          } catch (err) {
            return `${at} is not a directory in the sandbox (${(err as NodeJS.ErrnoException).code ?? String(err)})`;
          }
          opened.set(at, fd);
        }
        dirFd = fd;
      }
      let leaf: number;
      try {
        leaf = openSync(parts.length ? `/proc/self/fd/${dirFd}/${parts[parts.length - 1]}` : `/proc/self/fd/${dirFd}`, O_PATH | constants.O_NOFOLLOW);
      } catch (err) {
        return `${m.dest} cannot be found in the sandbox (${(err as NodeJS.ErrnoException).code ?? String(err)})`;
      }
      const st = fstatSync(leaf, { bigint: true });
      closeQuietly(leaf);
      if (String(st.dev) !== m.expect.dev || String(st.ino) !== m.expect.ino) return `${m.dest} is not what the plan mounted there`;
      if (m.expect.ctime !== undefined && String(st.ctimeNs) !== m.expect.ctime) return `${m.dest} holds deny masks and its entries changed after they were checked`;
    }
    return checkSelfBinds(mounts, parseMountinfo(readFileSync(`/proc/${pid}/mountinfo`, "utf8")));
  } catch (err) {
    return `the sandbox could not be checked (${(err as Error).message})`;
  } finally {
    close();
  }
}

function closeQuietly(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    // already closed
  }
}
