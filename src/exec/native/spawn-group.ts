import type { ChildProcess } from "node:child_process";
import { execa } from "execa";

export type Spawned = ChildProcess & PromiseLike<unknown>;

/**
 * Starts `file` as the leader of a new process group (so a timeout can signal the whole group),
 * with exactly `env`, raw byte pipes for stdout and stderr and nothing buffered by execa: the
 * caller caps the output. Used for commands (launch.ts) and for the launchers kept ready (zygote.ts).
 */
export function spawnGroup(file: string, args: string[], options: { env: Record<string, string>; stdin: "pipe" | "ignore"; cwd?: string }): Spawned {
  return execa(file, args, {
    ...(options.cwd !== undefined ? { cwd: options.cwd } : {}),
    env: options.env,
    extendEnv: false,
    detached: true,
    cleanup: false,
    reject: false,
    buffer: false,
    encoding: "buffer",
    stdin: options.stdin,
    stdout: "pipe",
    stderr: "pipe",
  }) as unknown as Spawned;
}
