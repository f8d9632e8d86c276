import type { Decision } from "../decision.js";

/**
 * Facts the pure command policy needs from the world, injected so `policy/` never touches the
 * filesystem itself. The bridge builds them for the selected backend.
 */
export interface CommandEnvironment {
  /** Absolute path of a program name found on the policy's trusted PATH, or null. */
  resolveProgram(name: string): string | null;
  /** For an absolute/relative program path: its canonical path if it is an existing regular file, else null. */
  canonicalProgramPath(path: string, cwd: string): string | null;
  /** Effective roots (canonical), to judge redirection targets and program paths. */
  roots: { path: string; writable: boolean }[];
  /** Canonical working directory of the command. */
  cwd: string;
  /** Programs added with --allow on the command line (names). */
  extraAllowed: string[];
}

/**
 * How an allowed command is run: plain argv when the whole input is a single simple command with
 * no shell features, otherwise the checked script run by an approved shell.
 *
 * A script runs as `[shell, "-c", script]`, nothing appended. Either way the runner must give the
 * process `PATH` = the policy's trusted_path (wrappers such as `timeout` or `env` look their inner
 * program up on PATH, and so does the shell) and must not pass BASH_ENV, ENV or the caller's PATH.
 */
export type ExecutionPlan =
  | { kind: "argv"; argv: string[] }
  | { kind: "script"; shell: string; script: string };

/** One simple command (or wrapped inner command, or shell construct) and how it was decided. */
export interface CommandVerdict {
  /** The program word as written (or a construct like `<function>`, `> /etc/x`). */
  program: string;
  decision: Decision;
}

export interface CommandDecision extends Decision {
  /** Present when allowed. */
  plan?: ExecutionPlan;
  /** Set on an allowed command that an ask rule matched: it runs only once a human approves (rule = the ask rules). */
  ask?: Decision;
  /** Every simple command found, with its own decision, for `warden check` and the audit. */
  commands?: CommandVerdict[];
}

/** A program name decided on its own (check_command_exists). */
export interface ProgramDecision extends Decision {
  /** Where the name resolves on the trusted PATH, or null when it does not. */
  path: string | null;
}
