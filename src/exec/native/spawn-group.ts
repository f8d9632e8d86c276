import type { ChildProcess } from "node:child_process";
import { execa } from "execa";

export type Spawned = ChildProcess & PromiseLike<unknown>;

/**
 * Starts `file` as the leader of a new process group (so a timeout can signal the whole group),
 * with exactly `env`, raw byte pipes for stdout and stderr and nothing buffered by execa: the
 * caller caps the output. Used for commands (launch.ts) and for the launchers kept ready (zygote.ts).
 */
export function spawnGroup(
  file: string,
  args: string[],
  options: { env: Record<string, string>; stdin: "pipe" | "ignore"; cwd?: string; /** Descriptors 3, 4, ...: a pipe, or a descriptor of ours handed over. */ extra?: ("pipe" | number)[] },
): Spawned {
  return execa(file, args, {
    ...(options.cwd !== undefined ? { cwd: options.cwd } : {}),
    env: options.env,
    extendEnv: false,
    detached: true,
    cleanup: false,
    reject: false,
    buffer: false,
    encoding: "buffer",
    // execa's types omit descriptor numbers beyond stdio[2]; it passes them to spawn, which hands them over.
    stdio: [options.stdin, "pipe", "pipe", ...(options.extra ?? [])] as ["pipe", "pipe", "pipe"],
  }) as unknown as Spawned;
}
