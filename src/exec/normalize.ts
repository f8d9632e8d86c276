import { realpathSync, statSync } from "node:fs";
import { isAbsolute, resolve } from "node:path";
import { movedMessage, pathLeadsTo } from "../config/held-roots.js";
import { realpathInView } from "../config/merged-roots.js";
import { isWithin, type EffectiveRoot } from "../policy/roots.js";
import type { Policy } from "../policy/schema/index.js";
import { buildCommandEnv } from "./command-env.js";
import { executeArgsSchema } from "./execute-args.js";
import type { ExecBackend, ExecuteArgs, ResolvedWorkingDirectory } from "./types.js";

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
 * Validates and canonicalizes the arguments: the working directory is made canonical where the
 * command runs and must lie inside a root there (see resolveCallDirectory); the timeout is bounded
 * by the policy; the environment is built from the policy's allowlist plus the checked caller
 * variables.
 */
export async function normalizeCall(
  raw: ExecuteArgs,
  policy: Policy,
  roots: EffectiveRoot[],
  serverEnv: NodeJS.ProcessEnv,
  home?: string,
  backend?: Pick<ExecBackend, "roots" | "resolveWorkingDirectory">,
): Promise<Normalized> {
  const parsed = executeArgsSchema.safeParse(raw);
  if (!parsed.success) {
    return { ok: false, rule: "input.invalid", reason: parsed.error.issues.map((i) => `${i.path.join(".") || "(args)"}: ${i.message}`).join("; ") };
  }
  const args = parsed.data;
  const place = await resolveCallDirectory(args.working_directory, roots, backend);
  if (!place.ok) return place;
  const exec = policy.execution;
  const background = args.background ?? false;
  const seconds = Math.min(args.timeout ?? (background ? exec.max_timeout_s : exec.timeout_s), exec.max_timeout_s);
  const env = buildCommandEnv(policy, args.env, serverEnv, home);
  if (!env.ok) return env;
  return {
    ok: true,
    call: { command: args.command, cwd: place.cwd, roots: place.roots, timeoutMs: Math.round(seconds * 1000), env: env.env, stdin: args.stdin, background },
  };
}

/**
 * The roots commands are confined to: the backend's own when it has a filesystem of its own (ssh),
 * else the local effective roots.
 */
export function commandRoots(backend: Pick<ExecBackend, "roots" | "resolveWorkingDirectory"> | undefined, local: EffectiveRoot[]): EffectiveRoot[] {
  const own = backend?.resolveWorkingDirectory ? (backend.roots?.() ?? []) : [];
  return own.length ? own : local;
}

/**
 * working_directory made canonical where the command runs: on the backend, against its roots
 * canonicalized there, when it has a filesystem of its own; else here, with a realpath against the
 * local effective roots. A resolver that throws refuses (fail closed).
 */
export async function resolveCallDirectory(
  path: string | undefined,
  localRoots: EffectiveRoot[],
  backend?: Pick<ExecBackend, "roots" | "resolveWorkingDirectory">,
): Promise<ResolvedWorkingDirectory> {
  const roots = commandRoots(backend, localRoots);
  if (roots.length === 0) return { ok: false, rule: "execution.no_root", reason: "there is no root to run commands in" };
  if (!backend?.resolveWorkingDirectory) return resolveLocalDirectory(path, roots);
  try {
    return await backend.resolveWorkingDirectory(path, roots);
  } catch (err) {
    return { ok: false, rule: "execution.working_directory", reason: `working_directory could not be resolved on the backend: ${(err as Error).message}` };
  }
}

/** A realpath on this machine, inside one of the (canonical) local roots. */
function resolveLocalDirectory(path: string | undefined, roots: EffectiveRoot[]): ResolvedWorkingDirectory {
  const first = roots[0]!.path;
  const wanted = path === undefined ? first : isAbsolute(path) ? path : resolve(first, path);
  let cwd: string;
  // A root held in a workspace's merged view (serve --overlay): resolved there, where the command runs.
  const view = roots.filter((r) => r.held?.via !== undefined && isWithin(r.path, wanted)).sort((a, b) => b.path.length - a.path.length)[0];
  if (view) {
    // The view's holder gone (its mounts with it), or the root's path there not the held directory.
    if (!pathLeadsTo(view.path, view.held!)) return { ok: false, rule: "roots.moved", reason: movedMessage(view.path) };
    const inView = realpathInView(view.path, view.held!, wanted);
    if (inView === null) return { ok: false, rule: "execution.working_directory", reason: "working_directory does not exist in the copy-on-write view (or is not a directory there)" };
    cwd = inView;
  } else {
    try {
      cwd = realpathSync(wanted);
      if (!statSync(cwd).isDirectory()) return { ok: false, rule: "execution.working_directory", reason: "working_directory is not a directory" };
    } catch {
      return { ok: false, rule: "execution.working_directory", reason: "working_directory does not exist" };
    }
  }
  if (!roots.some((r) => isWithin(r.path, cwd))) {
    return { ok: false, rule: "execution.working_directory", reason: "working_directory is outside the allowed roots" };
  }
  return { ok: true, cwd, roots };
}
