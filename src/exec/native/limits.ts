import { accessSync, constants, existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync } from "node:fs";
import { mkdir, rmdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { ExecRequest } from "../types.js";

/** Writable cgroup v1 controllers found at start; each holds a `warden` directory for our commands. */
export interface CgroupBases {
  memory?: string;
  pids?: string;
}

/**
 * Finds writable cgroup v1 memory and pids hierarchies (root on Linux); none elsewhere. `within`
 * nests the `warden` directory under a cgroup of the caller's (a Slurm step's: ownCgroups()), so
 * commands stay inside the limits and the accounting of whoever started this process.
 */
export function detectCgroups(root = "/sys/fs/cgroup", within: Partial<Record<"memory" | "pids", string>> = {}): CgroupBases {
  const out: CgroupBases = {};
  for (const ctrl of ["memory", "pids"] as const) {
    const dir = join(root, ctrl, within[ctrl] ?? "");
    try {
      accessSync(join(dir, "cgroup.procs"), constants.W_OK);
      const base = join(dir, "warden");
      mkdirSync(base, { recursive: true });
      removeStale(base);
      out[ctrl] = base;
    } catch {
      // not available: fall back to rlimits
    }
  }
  return out;
}

/** This process's own cgroup v1 memory and pids directories (relative), from /proc/self/cgroup. */
export function ownCgroups(text = readFileSync("/proc/self/cgroup", "utf8")): Partial<Record<"memory" | "pids", string>> {
  const out: Partial<Record<"memory" | "pids", string>> = {};
  for (const line of text.split("\n")) {
    const [, controllers, path] = /^\d+:([^:]*):(.*)$/.exec(line) ?? [];
    for (const ctrl of ["memory", "pids"] as const) if (controllers?.split(",").includes(ctrl) && path) out[ctrl] = path;
  }
  return out;
}

/** Empty cgroups left by servers that were killed before they could remove them (named PID-...). */
function removeStale(base: string): void {
  for (const name of readdirSync(base)) {
    const pid = /^(\d+)-/.exec(name)?.[1];
    if (!pid || existsSync(`/proc/${pid}`)) continue;
    try {
      rmdirSync(join(base, name)); // fails, and is left alone, while processes remain in it
    } catch {
      // busy or gone
    }
  }
}

/** The cgroups of one command; `procsFiles` are written by the wrapper before anything else runs. */
export interface CommandCgroups {
  procsFiles: string[];
  /** Every process still in the command's pids cgroup (to kill leftovers). */
  pids(): number[];
  /** Removes the directories once empty (retries briefly while the kernel reaps). */
  dispose(): Promise<void>;
}

/**
 * Creates the command's cgroups with their limits written. Asynchronous: making a cgroup v1
 * directory is kernel work that would otherwise stall the event loop on every command. If any step
 * fails, the directories already made are removed and the error is thrown (no command runs unlimited).
 */
export async function createCommandCgroups(bases: CgroupBases, id: string, limits: ExecRequest["limits"]): Promise<CommandCgroups> {
  const dirs: string[] = [];
  let pidsDir: string | undefined;
  try {
    if (bases.memory) {
      const dir = join(bases.memory, id);
      await mkdir(dir);
      dirs.push(dir);
      await writeFile(join(dir, "memory.limit_in_bytes"), String(limits.memoryMb * 1024 * 1024));
      try {
        await writeFile(join(dir, "memory.memsw.limit_in_bytes"), String(limits.memoryMb * 1024 * 1024));
      } catch {
        // no swap accounting
      }
    }
    if (bases.pids) {
      pidsDir = join(bases.pids, id);
      await mkdir(pidsDir);
      dirs.push(pidsDir);
      await writeFile(join(pidsDir, "pids.max"), String(limits.processes));
    }
  } catch (err) {
    await Promise.all(dirs.map((d) => rmdir(d).catch(() => {})));
    throw err;
  }
  return {
    procsFiles: dirs.map((d) => join(d, "cgroup.procs")),
    pids() {
      if (!pidsDir) return [];
      try {
        return readFileSync(join(pidsDir, "cgroup.procs"), "utf8").split("\n").filter(Boolean).map(Number);
      } catch {
        return [];
      }
    },
    async dispose() {
      for (const dir of dirs) {
        for (let i = 0; i < 150; i++) {
          try {
            // Removing a cgroup waits for an RCU grace period: off the event loop, on libuv's pool.
            await rmdir(dir);
            break;
          } catch (err) {
            if ((err as NodeJS.ErrnoException).code === "ENOENT") break;
            await new Promise((r) => setTimeout(r, 20));
          }
        }
      }
    },
  };
}

/**
 * A `/bin/sh -c` prologue that joins the command's cgroups and sets rlimits, then execs the real
 * command, so every limit is in place before the first instruction of the command runs. CPU time
 * and file size always come from rlimits; memory and processes from cgroups when writable, else
 * from rlimits (address space; RLIMIT_NPROC counts every process of the user, so it is coarser).
 */
export function limitsPrologue(limits: ExecRequest["limits"], cgroups: CommandCgroups | undefined, bases: CgroupBases, prlimit: string | null): string {
  const steps: string[] = [];
  for (const file of cgroups?.procsFiles ?? []) steps.push(`echo $$ > '${file}'`);
  // -t (seconds) and -f (512-byte blocks) mean the same in dash, bash and busybox sh.
  steps.push(`ulimit -t ${Math.floor(limits.cpuS)}`);
  steps.push(`ulimit -f ${Math.floor(limits.fileSizeMb) * 2048}`);
  const fallback: string[] = [];
  if (!bases.memory) fallback.push(`--as=${Math.floor(limits.memoryMb) * 1024 * 1024}`);
  if (!bases.pids) fallback.push(`--nproc=${Math.floor(limits.processes)}`);
  if (fallback.length > 0) {
    // The process-count flag differs between shells (dash -p, bash -u): use prlimit, or refuse.
    if (!prlimit) return `echo 'warden: no cgroups and no prlimit: cannot limit memory and processes' >&2; exit 126`;
    steps.push(`exec '${prlimit}' ${fallback.join(" ")} -- "$@"`);
  } else {
    steps.push(`exec "$@"`);
  }
  return steps.join(" && ");
}
