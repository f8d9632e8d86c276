import { randomBytes } from "node:crypto";
import { shellJoin } from "../shell-quote.js";
import type { ExecRequest } from "../types.js";
import type { CommandCgroups } from "./limits.js";
import { spawnGroup, type Spawned } from "./spawn-group.js";
import type { Spawner } from "./spawner.js";

/**
 * A launcher started ahead of time: a `/bin/sh` that has already joined a fresh set of cgroups and
 * set its rlimits, and now waits on stdin for the command to exec. Joining a cgroup v1 costs an
 * RCU grace period (milliseconds); doing it before the call arrives keeps it off the reply's path.
 * The command line comes as shell-quoted words ended by a random terminator line, so any argument
 * (newlines included) arrives intact; whatever follows on stdin is the command's own input.
 */
export interface Zygote {
  sub: Spawned;
  cgroups?: CommandCgroups;
  /** Limits the zygote was prepared with; it only serves requests with the same limits. */
  key: string;
  terminator: string;
  /** Handed a command: its cgroups are then released with that command. */
  used: boolean;
  /** While it waits in a workspace's namespace: the check that its holder still runs (index.ts). */
  watch?: NodeJS.Timeout;
}

/** How limitsPrologue ends when it execs its arguments itself. */
const EXEC_ARGS = ' && exec "$@"';

export const limitsKey = (limits: ExecRequest["limits"]) => `${limits.memoryMb}/${limits.processes}/${limits.cpuS}/${limits.fileSizeMb}`;

/** Descriptors a zygote can take over for a command (a POSIX shell's redirections stop at 9). */
export const ZYGOTE_MAX_FDS = 4;

/**
 * The command line the zygote execs, as one shell-quoted string, ended by its terminator line.
 * `fds`: descriptors of this process the command must get from descriptor `firstFd` on; the zygote
 * was started before they were opened, so it reopens each through /proc/<our pid>/fd/<n> (the open
 * descriptor itself, not a path lookup). The caller keeps them open until the command has started.
 */
export function zygoteFeed(words: string[], terminator: string, fds: number[] = [], firstFd = 6): string | null {
  if (words.some((w) => w.includes(terminator) || w.includes("\0"))) return null;
  if (fds.length > ZYGOTE_MAX_FDS || firstFd + fds.length - 1 > 9) return null;
  const redirects = fds.map((fd, i) => ` ${firstFd + i}</proc/${process.pid}/fd/${fd}`).join("");
  return `${shellJoin(words)}${redirects}\n${terminator}\n`;
}

/**
 * Starts a zygote: cgroups joined and rlimits set by `prologue`, then it reads its command.
 * `enter` (serve --overlay: nsenter into a workspace's namespace, exec/native/namespace.ts) is what
 * is started, with the shell after it: the namespace is entered now, not on the command's path, and
 * the prologue (cgroup files and rlimits, nothing inside a root) runs in there; the zygote then
 * serves only commands for that namespace (its `key` says so). One shell, not one on each side of
 * nsenter: each exec of a shell costs about as much as the rest of a launcher.
 */
export async function spawnZygote(prologue: string, cgroups: CommandCgroups | undefined, key: string, enter: string[] = [], spawner?: Spawner | null): Promise<Zygote> {
  const terminator = `__warden_${randomBytes(8).toString("hex")}__`;
  const reader = `s= && ok= && while IFS= read -r l; do if [ "$l" = '${terminator}' ]; then ok=1; break; fi; s="$s$l
"; done && [ -n "$ok" ] && eval "exec $s"`;
  // `prologue` ends in `exec "$@"`: replace that by reading the words from stdin. One that execs a
  // program instead (prlimit, without cgroups) gets a shell that reads them as that program's command.
  const plain = prologue.endsWith(EXEC_ARGS) ? ["-c", `${prologue.slice(0, -EXEC_ARGS.length)} && ${reader}`, "warden-zygote"] : null;
  const shell = ["/bin/sh", ...(plain ?? ["-c", prologue, "warden-zygote", "/bin/sh", "-c", reader, "warden-zygote"])];
  const [file, ...args] = [...enter, ...shell];
  // Descriptors 3-5 are the pipes of the sandbox's gate (mount-gate.ts), made now for the command to come.
  const { sub } = await spawnGroup(file!, args, { env: {}, stdin: "pipe", extra: ["out", "out", "in"] }, spawner);
  sub.stdin?.on("error", () => {});
  // A zygote discarded unused has its gate pipes torn down with it: never an uncaught error.
  for (const stream of sub.stdio.slice(3) as (NodeJS.EventEmitter | null)[]) stream?.on("error", () => {});
  return { sub, cgroups, key, terminator, used: false };
}
