import { realpathSync, statSync } from "node:fs";
import { isAbsolute, resolve } from "node:path";
import { decideCommand, decideProcessInput, decideProgram } from "../policy/command/index.js";
import type { CommandDecision, CommandEnvironment, ProgramDecision } from "../policy/command/types.js";
import type { Decision } from "../policy/decision.js";
import type { EffectiveRoot } from "../policy/roots.js";
import type { Policy } from "../policy/schema/index.js";
import type { ExecBackend } from "./types.js";

/**
 * Backends whose commands see this host's paths: native, and slurm (roots on a shared filesystem at
 * the same paths, nodes installed like this host: docs/HOST_COMMAND_EXECUTION_GUIDE.md).
 */
export const SHARES_HOST_PATHS: ReadonlySet<string> = new Set(["native", "slurm"]);

/** The pure command policy's three questions, injectable so tests can pin them. */
export interface CommandPolicy {
  decideCommand(source: string, policy: Policy, env: CommandEnvironment): Promise<CommandDecision>;
  decideProcessInput(input: string, program: string, policy: Policy, env: CommandEnvironment): Promise<Decision>;
  decideProgram(name: string, policy: Policy, env: CommandEnvironment): ProgramDecision;
}

export type DecideCommand = CommandPolicy["decideCommand"];

/** src/policy/command, as the bridge uses it by default. */
export const defaultCommandPolicy: CommandPolicy = { decideCommand, decideProcessInput, decideProgram };

export interface DecideContext {
  backend: ExecBackend;
  policy: Policy;
  roots: EffectiveRoot[];
  cwd: string;
  extraAllowed: string[];
  /** Recent `which` answers of this bridge, so a call usually needs one pass of the policy. */
  cache?: ProgramCache;
}

/**
 * `which` answers kept for a few seconds. The trusted PATH is the administrator's, so an answer
 * a few seconds old is as good as a fresh one, and a remote backend (ssh, docker) saves a round
 * trip per program name. A stale answer can only name a program that was removed (exec fails).
 */
export class ProgramCache {
  private readonly entries = new Map<string, { path: string | null; at: number }>();
  constructor(private readonly ttlMs = 10_000) {}

  get(name: string): string | null | undefined {
    const hit = this.entries.get(name);
    if (!hit || Date.now() - hit.at > this.ttlMs) return undefined;
    return hit.path;
  }

  set(name: string, path: string | null): void {
    if (this.entries.size > 1000) this.entries.clear();
    this.entries.set(name, { path, at: Date.now() });
  }
}

/**
 * Runs a pure policy question with a CommandEnvironment for this backend. The policy asks for
 * program names synchronously; names it asked for that were not known yet are looked up with the
 * backend's `which` (trusted PATH only) and the question is asked again, so the final answer always
 * saw every name resolved. A throwing policy denies (fail closed).
 */
export async function askWithBackend<T extends Decision>(ctx: DecideContext, ask: (env: CommandEnvironment) => Promise<T> | T): Promise<T | Decision> {
  const known = new Map<string, string | null>();
  for (let pass = 0; pass < 4; pass++) {
    const pending = new Set<string>();
    const env: CommandEnvironment = {
      resolveProgram(name) {
        if (known.has(name)) return known.get(name)!;
        const cached = ctx.cache?.get(name);
        if (cached !== undefined) {
          known.set(name, cached);
          return cached;
        }
        pending.add(name);
        return null;
      },
      canonicalProgramPath: (path, cwd) => (SHARES_HOST_PATHS.has(ctx.backend.name) ? canonicalHostProgram(path, cwd) : null),
      roots: ctx.roots.map((r) => ({ ...r })),
      cwd: ctx.cwd,
      extraAllowed: [...ctx.extraAllowed],
    };
    let answer: T;
    try {
      answer = await ask(env);
    } catch (err) {
      return { allow: false, rule: "commands.error", reason: `the command policy failed: ${(err as Error).message}` };
    }
    if (pending.size === 0) return answer;
    await Promise.all(
      [...pending].map(async (name) => {
        const path = await ctx.backend.which(name, ctx.policy.commands.trusted_path).catch(() => null);
        known.set(name, path);
        ctx.cache?.set(name, path);
      }),
    );
  }
  return { allow: false, rule: "commands.resolve", reason: "program names could not be resolved" };
}

/** Canonical path of an existing regular file named by an absolute or relative path, else null. */
export function canonicalHostProgram(path: string, cwd: string): string | null {
  try {
    const real = realpathSync(isAbsolute(path) ? path : resolve(cwd, path));
    return statSync(real).isFile() ? real : null;
  } catch {
    return null;
  }
}
