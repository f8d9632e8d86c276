import type { Readable, Writable } from "node:stream";
import { execa } from "execa";
import type { ExtraFd, Spawner } from "./spawner.js";

/** A started process group's leader: the parts of a ChildProcess that launch.ts and zygote.ts use. */
export interface Spawned extends PromiseLike<unknown> {
  readonly pid: number | undefined;
  readonly stdin: Writable | null;
  readonly stdout: Readable | null;
  readonly stderr: Readable | null;
  readonly stdio: readonly unknown[];
  readonly exitCode: number | null;
  readonly signalCode: NodeJS.Signals | null;
  on(event: "exit", listener: (code: number | null, signal: NodeJS.Signals | null) => void): this;
  on(event: "error", listener: (err: Error) => void): this;
}

/**
 * Starts `file` as the leader of a new process group (so a timeout can signal the whole group),
 * with exactly `env`, raw byte pipes for stdout and stderr and nothing buffered by execa: the
 * caller caps the output. Used for commands (launch.ts) and for the launchers kept ready (zygote.ts).
 * With a `spawner` (spawner.ts) the fork happens there, off this process's event loop; without
 * one (no C compiler at build time), here. Wrapped, since a Spawned is itself awaitable.
 */
export async function spawnGroup(
  file: string,
  args: string[],
  options: { env: Record<string, string>; stdin: "pipe" | "ignore"; cwd?: string; /** Descriptors 3, 4, ...: a pipe ("in": the process reads it), or a descriptor of ours handed over. */ extra?: ExtraFd[] },
  spawner?: Spawner | null,
): Promise<{ sub: Spawned }> {
  if (spawner) return spawner.spawn({ file, args, env: options.env, stdin: options.stdin, extra: options.extra ?? [], ...(options.cwd !== undefined ? { cwd: options.cwd } : {}) });
  const sub = execa(file, args, {
    ...(options.cwd !== undefined ? { cwd: options.cwd } : {}),
    env: options.env,
    extendEnv: false,
    detached: true,
    cleanup: false,
    reject: false,
    buffer: false,
    encoding: "buffer",
    // execa's types omit descriptor numbers beyond stdio[2]; it passes them to spawn, which hands them over.
    stdio: [options.stdin, "pipe", "pipe", ...(options.extra ?? []).map((e) => (typeof e === "number" ? e : "pipe"))] as ["pipe", "pipe", "pipe"],
  }) as unknown as Spawned;
  return { sub };
}
