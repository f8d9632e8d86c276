import type { HeldDir } from "../policy/roots.js";

/**
 * The contract between the tool layer and the WASI runtime. The tool layer never touches the host
 * filesystem for a guest path: it asks the sandbox to run a module whose only doors are the preopens.
 */

/** One door into the host filesystem: a root, opened under its own host path as the guest name. */
export interface Preopen {
  /** Canonical (realpath) absolute host directory; also the name the module sees. */
  hostPath: string;
  writable: boolean;
  /**
   * The directory the server holds for this root (config/held-roots.ts): the run opens that very
   * directory through its descriptor, refuses the root when `hostPath` no longer leads to it, and
   * keeps a read-only root read-only wherever it was moved. Absent: opened by path (tests).
   */
  held?: HeldDir;
}

/** What one module run may see and how long it may take. Built from policy, never from tool input. */
export interface SandboxScope {
  preopens: Preopen[];
  /** Globs matched against paths relative to their root; matches are invisible / refused. */
  denyGlobs: string[];
}

export interface ModuleRunRequest {
  /** Module name: read, write, edit, list, search, stat. */
  module: string;
  /** argv after argv[0]. */
  args: string[];
  stdin?: Uint8Array;
  scope: SandboxScope;
  /** Kill the run after this many milliseconds. */
  deadlineMs: number;
  /** Largest stdout kept; the run is stopped with EFBIG beyond it. */
  maxStdoutBytes: number;
  /**
   * A table shared by the shards of one search (`--shard=I/N`): each unit of work goes to the
   * first shard that claims it (`newClaimTable()`). Without it the shards split statically.
   */
  claims?: SharedArrayBuffer;
  /**
   * A read-only call of bounded size (read, stat, a depth-1 list): it may run on the server's main
   * thread first, with every root read-only and a small fuel budget, and goes to the worker pool
   * when the budget runs out, when a root is not on a local filesystem, or when the module is not
   * metered (src/sandbox/inline/). Leave it unset for anything that writes.
   */
  inline?: boolean;
}

/** A refusal the runtime made during a run, kept so the tool can name the rule that denied. */
export interface SandboxDenial {
  /** e.g. `filesystem.deny:**\/.env`, `sandbox.escape`, `filesystem.read_only`, `sandbox.file_type`. */
  rule: string;
  /** Guest path as the module asked for it. */
  path: string;
  reason: string;
}

export interface ModuleRunResult {
  exitCode: number;
  stdout: Uint8Array;
  stderr: string;
  denials: SandboxDenial[];
  timedOut: boolean;
  durationMs: number;
  /** Set when stdout reached `maxStdoutBytes` and the run was stopped (stderr ends with `EFBIG: ...`). */
  stdoutTruncated?: boolean;
  /** Where the run that produced this result ran (set for calls that asked for `inline`). */
  ranOn?: "main" | "pool";
  /** For an `inline` call: fuel its main-thread run spent, and whether that run stopped (out of fuel, or its reply passed the inline cap) so the pool ran the call. */
  inlineFuel?: { used: number; budget: number; exhausted: boolean };
}

/** The WASI runtime as the tool layer sees it. */
export interface Sandbox {
  run(request: ModuleRunRequest): Promise<ModuleRunResult>;
  /** Runs that can execute at once (worker threads); a caller may split work into that many runs. */
  readonly workers?: number;
  close(): Promise<void>;
}
