import type { Decision } from "../policy/decision.js";
import type { EffectiveRoot, HeldDir } from "../policy/roots.js";

/**
 * One interface for every execution backend (native, docker, ssh, host-agent). The bridge
 * (normalize -> decide -> dispatch -> audit) is written once against it; a backend only runs an
 * already-approved argv or approved script and reports the same result shape.
 */

export type BackendName = "native" | "docker" | "ssh" | "host-agent" | "slurm";

export interface ExecRequest {
  /** Approved argv (argv[0] an absolute program path on the backend), or a script for an approved shell. */
  argv: string[];
  /** When set, the approved script is run as `argv[0] -c script` by the backend's shell. */
  script?: string;
  cwd: string;
  env: Record<string, string>;
  stdin?: string;
  timeoutMs: number;
  outputCapBytes: number;
  /** Limits the backend applies where it can. */
  limits: { memoryMb: number; processes: number; cpuS: number; fileSizeMb: number; network: boolean };
  /**
   * Read-write and read-only roots, for backends that bind them (bubblewrap, docker), with the
   * directory the server holds for each (bound by descriptor; a path that no longer leads to it is refused).
   */
  roots: { path: string; writable: boolean; held?: HeldDir }[];
  /** policy filesystem.deny: matches inside the roots are hidden from the command (native bubblewrap, docker). */
  denyGlobs?: string[];
  /** policy execution.deny_scan_limit: directories per root the native backend indexes to find them; the rest is hidden. */
  denyScanLimit?: number;
  /** policy execution.deny_scan_budget_ms: how long the command waits for that check before starting with what is unchecked hidden. */
  denyScanBudgetMs?: number;
  signal?: AbortSignal;
  /** The MCP session the command belongs to (backends that hold something per session: slurm's allocation). */
  session?: string;
  /** Called with output as it arrives (for progress notifications and background retention). */
  onOutput?: (stream: "stdout" | "stderr", chunk: string) => void;
}

/** One result shape for success and failure (execa-style). */
export interface ExecResult {
  exit_code: number | null;
  signal?: string | null;
  stdout: string;
  stderr: string;
  timed_out: boolean;
  truncated: boolean;
  duration_ms: number;
  /** Set when the backend itself failed (could not start, connection lost); the command did not run to completion. */
  error?: string;
  /** Where it ran, for backends that place commands (slurm: cluster, job, step, node); recorded in the audit log. */
  placement?: { cluster: string; job: string; step: string; node: string };
}

/** A running background process as a backend exposes it. */
export interface BackendProcess {
  pid?: number;
  /**
   * Settles when the command itself starts: resolves then, or rejects with an ExecRefusal when it
   * was never started (native: its sandbox did not match the mount plan). Absent: started at once.
   */
  ready?: Promise<void>;
  write(input: string): Promise<void>;
  closeStdin(): Promise<void>;
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Resolves when the process ends, with the final result (output fields may be empty: the registry keeps output). */
  done: Promise<ExecResult>;
}

export interface ExecBackend {
  readonly name: BackendName;
  /** Human description for get_system_info and /health (e.g. "native (bubblewrap)"). */
  describe(): { backend: BackendName; confinement: string; detail?: string };
  run(request: ExecRequest): Promise<ExecResult>;
  start(request: ExecRequest): Promise<BackendProcess>;
  /**
   * Backends that hide filesystem.deny matches (native bubblewrap, docker): start checking these
   * roots now, so the first command does not start with them unchecked (hence hidden). Returns at once.
   */
  warm?(request: Pick<ExecRequest, "roots" | "denyGlobs" | "denyScanLimit">): void;
  /** Absolute path of `program` on the backend (searched on trustedPath), or null. */
  which(program: string, trustedPath: string[]): Promise<string | null>;
  /**
   * Backends with a filesystem of their own (ssh): the roots that confine commands there. They replace
   * the server's local effective roots for working_directory and for the command policy (the client's
   * MCP roots name the client's filesystem, not this one). Absent or empty: the local roots apply.
   */
  roots?(): EffectiveRoot[];
  /**
   * Backends with a filesystem of their own: canonicalizes `path` ON THE BACKEND (absolute, or
   * relative to `roots[0]`; undefined means `roots[0]`) and checks that it is a directory inside one
   * of `roots`, themselves canonicalized there. Absent: the bridge resolves with a local realpath
   * (native and host-agent run here; docker binds the roots at the same paths).
   */
  resolveWorkingDirectory?(path: string | undefined, roots: EffectiveRoot[]): Promise<ResolvedWorkingDirectory>;
  /** Backends holding something per MCP session (slurm: its allocation): where that session's commands run now, if anywhere. */
  placement?(session: string): Placement | undefined;
  /** Everything this backend holds per session, for /health (slurm: the cluster and its jobs). */
  sessions?(): { cluster?: string; jobs: Placement[] };
  /** The MCP session ended: release what the backend holds for it. */
  endSession?(session: string): Promise<void>;
  close(): Promise<void>;
}

/** Where a command ran on a cluster. */
export type Placement = NonNullable<ExecResult["placement"]>;

/**
 * A canonical working directory with the canonical roots it was checked against (what the command
 * policy then judges paths by), or the rule that refused it.
 */
export type ResolvedWorkingDirectory = { ok: true; cwd: string; roots: EffectiveRoot[] } | { ok: false; rule: string; reason: string };

/** Arguments of execute_command / POST /api/v1/execute, already validated by zod. */
export interface ExecuteArgs {
  command: string;
  working_directory?: string;
  timeout?: number;
  env?: Record<string, string>;
  stdin?: string;
  background?: boolean;
}

/** What the bridge returns: the decision that was made plus the result when it ran. */
export interface BridgeOutcome {
  allowed: boolean;
  rule: string;
  reason: string;
  result?: ExecResult;
  /** Handle of a background process when `background: true`. */
  handle?: string;
  backend: BackendName;
  /** The command ran, but its outcome record could not be written (why); the log holds its intent alone. */
  unrecorded?: string;
}

/** Per-call context the caller (a tool, the REST API, the host agent) hands to the bridge. */
export interface ExecuteHooks {
  signal?: AbortSignal;
  /** Called about every 5 s while a foreground command runs (MCP progress notifications). */
  onProgress?: (message: string) => void;
  /** Effective roots of this call (client roots narrow them); default: the bridge's `roots()`. */
  roots?: EffectiveRoot[];
  /** Tool name written to the audit record: `execute_command` (default) or `api.execute`. */
  tool?: string;
  /** For the audit record: how the call arrived (stdio, http, rest, agent). */
  transport?: string;
  /** Client identity for the audit record, when known. */
  client?: string;
  /** For the audit record: the MCP session, or null outside any session. */
  session?: string | null;
  /** For the audit record: the request (MCP JSON-RPC id or REST request id). */
  request?: string;
  /** For the audit record: the copy-on-write workspace (serve --overlay). */
  workspace?: string;
  /** The MCP session; background processes it starts are visible to that session only. */
  owner?: string;
  /**
   * Asks a human about a command an ask rule matched (the decision's `ask`); resolves allow only
   * once approved. Absent: such a command is denied.
   */
  approve?: (ask: Decision) => Promise<Decision & { approval?: string }>;
}

/** What check_command_exists reports. */
export interface ProgramCheck {
  /** The program name or path as given. */
  program: string;
  exists: boolean;
  /** Absolute path on the backend, or null. */
  path: string | null;
  allowed: boolean;
  rule: string;
  reason: string;
}

/**
 * normalize -> decide -> dispatch -> audit (intent before dispatch, outcome after), written once for
 * every backend. The server, the REST API and the host agent all execute through this.
 */
export interface CommandBridge {
  execute(args: ExecuteArgs, hooks?: ExecuteHooks): Promise<BridgeOutcome>;
  /**
   * The decision `execute` would take for these arguments (normalize, then decide), without running
   * or recording anything: `warden audit replay` asks it of recorded calls under a candidate policy.
   */
  decide(args: ExecuteArgs, hooks?: Pick<ExecuteHooks, "roots">): Promise<Decision>;
  /** Whether a program exists on the backend (trusted PATH) and whether the policy allows running it. */
  checkProgram(program: string, hooks?: Pick<ExecuteHooks, "roots">): Promise<ProgramCheck>;
  describe(): { backend: BackendName; confinement: string; privileged: boolean; detail?: string };
  /** Starts the backend's filesystem.deny check of `roots` (default: the sessionless roots; ExecBackend.warm); the server calls it at start, and per session for a workspace of its own. */
  warm(roots?: EffectiveRoot[]): Promise<void>;
  /** The backend's placement of a session's commands (slurm), if any. */
  placement?(session: string): Placement | undefined;
  /** The backend's per-session holdings, for /health (slurm). */
  sessions?(): { cluster?: string; jobs: Placement[] };
  /** The MCP session ended: the backend releases what it holds for it. */
  endSession?(session: string): Promise<void>;
  close(): Promise<void>;
}
