import { realpathSync, statSync } from "node:fs";
import { isAbsolute, resolve } from "node:path";
import { isWithin, type EffectiveRoot } from "../policy/roots.js";
import type { Policy } from "../policy/schema/index.js";
import { buildCommandEnv } from "./command-env.js";
import { executeArgsSchema } from "./execute-args.js";
import type { ExecuteArgs } from "./types.js";

/** A call after normalization: every value checked, canonical and bounded. */
export interface NormalizedCall {
  command: string;
  cwd: string;
  roots: EffectiveRoot[];
  timeoutMs: number;
  env: Record<string, string>;
  stdin?: string;
  background: boolean;
}

export type Normalized = { ok: true; call: NormalizedCall } | { ok: false; rule: string; reason: string };

/**
 * Validates and canonicalizes the arguments: the working directory is resolved (realpath) and
 * must lie inside an effective root; the timeout is bounded by the policy; the environment is
 * built from the policy's allowlist plus the checked caller variables.
 */
export function normalizeCall(raw: ExecuteArgs, policy: Policy, roots: EffectiveRoot[], serverEnv: NodeJS.ProcessEnv, home?: string): Normalized {
  const parsed = executeArgsSchema.safeParse(raw);
  if (!parsed.success) {
    return { ok: false, rule: "input.invalid", reason: parsed.error.issues.map((i) => `${i.path.join(".") || "(args)"}: ${i.message}`).join("; ") };
  }
  const args = parsed.data;
  if (roots.length === 0) return { ok: false, rule: "execution.no_root", reason: "there is no root to run commands in" };
  const first = roots[0]!.path;
  const wanted = args.working_directory === undefined ? first : isAbsolute(args.working_directory) ? args.working_directory : resolve(first, args.working_directory);
  let cwd: string;
  try {
    cwd = realpathSync(wanted);
    if (!statSync(cwd).isDirectory()) return { ok: false, rule: "execution.working_directory", reason: "working_directory is not a directory" };
  } catch {
    return { ok: false, rule: "execution.working_directory", reason: "working_directory does not exist" };
  }
  if (!roots.some((r) => isWithin(r.path, cwd))) {
    return { ok: false, rule: "execution.working_directory", reason: "working_directory is outside the allowed roots" };
  }
  const exec = policy.execution;
  const background = args.background ?? false;
  const seconds = Math.min(args.timeout ?? (background ? exec.max_timeout_s : exec.timeout_s), exec.max_timeout_s);
  const env = buildCommandEnv(policy, args.env, serverEnv, home);
  if (!env.ok) return env;
  return {
    ok: true,
    call: { command: args.command, cwd, roots, timeoutMs: Math.round(seconds * 1000), env: env.env, stdin: args.stdin, background },
  };
}
