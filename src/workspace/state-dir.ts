import { lstatSync, mkdirSync, realpathSync, statSync } from "node:fs";
import { homedir } from "node:os";
import { basename, dirname, join, resolve } from "node:path";
import { usageError } from "./errors.js";

/** SPEC: `--state-dir` defaults to `$XDG_STATE_HOME/mcp-warden` (`~/.local/state/mcp-warden`). */
export function defaultStateDir(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_STATE_HOME && env.XDG_STATE_HOME.startsWith("/") ? env.XDG_STATE_HOME : join(homedir(), ".local", "state");
  return join(base, "mcp-warden");
}

/** Where the workspaces of a state dir live: one directory per workspace, named by it. */
export function workspacesDir(stateDir: string): string {
  return join(stateDir, "workspaces");
}

/**
 * Where a state dir is, canonical, without making it: the real path of its nearest existing ancestor
 * plus the rest. Lets the roots be checked against it before anything is created.
 */
export function futureStateDir(dir: string): string {
  const abs = resolve(dir);
  const rest: string[] = [];
  let p = abs;
  for (;;) {
    try {
      return join(realpathSync(p), ...rest.reverse());
    } catch {
      const up = dirname(p);
      if (up === p) return abs;
      rest.push(basename(p));
      p = up;
    }
  }
}

/**
 * The state dir as a canonical path. With `create`, made (0700) when missing; without it, a missing
 * state dir is returned as is (nothing is in it). A state dir that exists but is not a directory is a
 * usage error naming it: nothing is written next to it or over it.
 */
export function prepareStateDir(dir: string, create: boolean): string {
  const abs = resolve(dir);
  let st;
  try {
    st = statSync(abs);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOTDIR") throw notADirectory(abs);
    if (code !== "ENOENT") throw usageError(`state dir ${abs}: ${(err as Error).message}`);
    if (!create) return abs;
    try {
      mkdirSync(abs, { recursive: true, mode: 0o700 });
    } catch (mkErr) {
      const c = (mkErr as NodeJS.ErrnoException).code;
      if (c === "ENOTDIR" || c === "EEXIST") throw notADirectory(abs);
      throw usageError(`cannot create the state dir ${abs}: ${(mkErr as Error).message}; give --state-dir a writable directory`);
    }
    st = statSync(abs);
  }
  if (!st.isDirectory()) throw notADirectory(abs);
  const real = realpathSync(abs);
  if (create) mkdirSync(workspacesDir(real), { recursive: true, mode: 0o700 });
  else if (lstatExists(workspacesDir(real)) === "other") throw notADirectory(workspacesDir(real));
  return real;
}

function notADirectory(path: string) {
  return usageError(`state dir ${path} is not a directory (a file, or a path through a file, is in the way); give --state-dir a directory, or move that file away`);
}

function lstatExists(path: string): "dir" | "other" | "missing" {
  try {
    return lstatSync(path).isDirectory() ? "dir" : "other";
  } catch {
    return "missing";
  }
}
