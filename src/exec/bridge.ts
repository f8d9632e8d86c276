import { basename } from "node:path";
import { recordCall, recordIntent, type AuditRefusal, type OpenCall, type OutcomeFacts } from "../audit/call-audit.js";
import { redactArgs } from "../audit/redact.js";
import { resultDigest } from "../audit/result-digest.js";
import { NULL_AUDIT_SINK } from "../audit/memory-sink.js";
import type { AuditSink } from "../audit/types.js";
import type { CommandDecision, ExecutionPlan } from "../policy/command/types.js";
import { allow, deny, type Decision } from "../policy/decision.js";
import type { EffectiveRoot, HeldDir } from "../policy/roots.js";
import type { Policy } from "../policy/schema/index.js";
import { askWithBackend, canonicalHostProgram, SHARES_HOST_PATHS, defaultCommandPolicy, ProgramCache, type CommandPolicy, type DecideCommand } from "./command-policy.js";
import { CommandSlots, type CommandSlot } from "./command-slots.js";
import { ExecRefusal } from "./errors.js";
import { commandRoots, normalizeCall, type NormalizedCall } from "./normalize.js";
import { failedResult } from "./output/output-collector.js";
import type { ProcessRegistry } from "./process-registry.js";
import type { BridgeOutcome, CommandBridge, ExecBackend, ExecRequest, ExecResult, ExecuteArgs, ExecuteHooks, ProgramCheck } from "./types.js";

export interface CommandBridgeOptions {
  policy: Policy;
  backend: ExecBackend;
  audit: AuditSink;
  /** Effective roots when a call does not bring its own (REST API, host agent). */
  roots: () => Promise<EffectiveRoot[]>;
  /** Programs added with --allow. */
  extraAllowed?: string[];
  /** --dangerously-skip-policy / EXECUTION_MODE=privileged: no command decision (rule `privileged`), still audited. */
  privileged?: boolean;
  /** Where background processes live; without it `background: true` is refused. */
  processes?: ProcessRegistry;
  /** The pure command policy; default: src/policy/command. */
  commandPolicy?: Partial<CommandPolicy>;
  /** Shorthand for `commandPolicy.decideCommand` (tests). */
  decide?: DecideCommand;
  /** Redacts arguments for the audit record; default: the audit log's redactArgs with policy.audit.redact_keys, and env values and stdin never recorded. */
  redact?: (args: Record<string, unknown>) => Record<string, unknown>;
  /** The server's environment, filtered by execution.env_allow. Default process.env. */
  serverEnv?: NodeJS.ProcessEnv;
  /** HOME of commands (default: the sandbox's empty home). */
  home?: string;
  /** Interval of onProgress while a foreground command runs. Default 5000 ms. */
  progressIntervalMs?: number;
  /**
   * serve --overlay: holds the live workspaces the command's roots are in for as long as it runs (a
   * background one: until its process ends), waiting while a live checkpoint copies one of them;
   * the result lets go. Taken before the intent is recorded, so the record's time orders the command
   * after that checkpoint (server/live-workspaces.ts).
   */
  enterWorkspace?: (roots: ReadonlyArray<{ held?: HeldDir | undefined }>) => Promise<() => void>;
}

/** Shells whose stdin is a script: input written to them is decided like a command. */
const SHELLS = new Set(["sh", "bash", "dash", "zsh", "ksh", "ksh93", "mksh", "ash", "yash", "posh", "fish", "csh", "tcsh", "busybox"]);

/** The audit log is off: intents cost nothing. */
const UNLOGGED: OpenCall = { ok: true, finish: async () => ({ ok: true }) };

/**
 * The one path every command takes: normalize -> decide -> dispatch -> audit, whatever the caller
 * (tool, REST API, host agent). A command that runs is recorded before it starts (an intent,
 * synced) and after (its outcome); one whose intent cannot be written does not run. A refused one
 * (denied, busy) is one record. At most execution.max_concurrent_commands run at once.
 */
export function createCommandBridge(opts: CommandBridgeOptions): CommandBridge {
  const { policy, backend } = opts;
  const privileged = opts.privileged ?? false;
  const extraAllowed = opts.extraAllowed ?? [];
  const serverEnv = opts.serverEnv ?? process.env;
  const redact = opts.redact ?? ((args: Record<string, unknown>) => redactArgs(withoutValues(args), policy.audit.redact_keys));
  const programs = new ProgramCache();
  const slots = new CommandSlots(policy.execution.max_concurrent_commands);
  const rules: CommandPolicy = { ...defaultCommandPolicy, ...opts.commandPolicy, ...(opts.decide ? { decideCommand: opts.decide } : {}) };

  async function execute(args: ExecuteArgs, hooks: ExecuteHooks = {}): Promise<BridgeOutcome> {
    const started = performance.now();
    const { normalized, decision } = await judge(args, hooks.roots ?? (await opts.roots()));
    if (!normalized.ok || !isRunnable(decision)) {
      return auditRefusal(refused("allow" in decision && decision.allow ? deny("commands.no_plan", "the policy allowed but gave no plan") : decision), args, started, hooks);
    }
    if (normalized.call.background && !opts.processes) return auditRefusal(refused(deny("execution.background", "background processes are not available here")), args, started, hooks);
    // 2b. a command an ask rule matched waits for a human (no slot is held meanwhile); no approval, no run.
    let approval: string | undefined;
    if (decision.ask) {
      const answer: Decision & { approval?: string } = hooks.approve
        ? await hooks.approve(decision.ask)
        : deny(decision.ask.rule, `not approved (unavailable): ${decision.ask.reason}; this caller cannot be asked`);
      if (!answer.allow) return auditRefusal(refused(answer), args, started, hooks);
      approval = answer.approval;
    }
    // 3. dispatch: only an allowed plan, with a free command slot and its intent on record, reaches the backend.
    const held = slots.tryAcquire();
    if (!held) return auditRefusal(refused(busy()), args, started, hooks);
    const leave = opts.enterWorkspace ? await opts.enterWorkspace(normalized.call.roots) : () => {};
    const slot: CommandSlot = { release: () => (held.release(), leave()) };
    const intent = await recordIntentOf(args, decision, hooks, approval);
    if (!intent.ok) {
      slot.release();
      return refused(deny(intent.rule, `not run: ${intent.reason}`));
    }
    const outcome = await dispatch(normalized.call, decision, hooks, slot);
    // 4. audit: the outcome, linked to its intent. The command already ran: say so when it cannot be recorded.
    const written = await intent.finish(outcomeFacts(outcome, started));
    return written.ok ? outcome : { ...outcome, unrecorded: written.reason };
  }

  /** Steps 1 and 2 of execute, shared with decide. */
  async function judge(args: ExecuteArgs, roots: EffectiveRoot[]) {
    // 1. normalize: validated arguments, canonical working directory inside a root (on the backend
    //    and its own roots when it has a filesystem of its own), built environment.
    const normalized = await normalizeCall(args, policy, roots, serverEnv, opts.home, backend);
    // 2. decide: the command policy (or privileged mode) on exactly that input.
    const decision = normalized.ok ? await decideCall(normalized.call) : normalized;
    return { normalized, decision };
  }

  async function decide(args: ExecuteArgs, hooks: Pick<ExecuteHooks, "roots"> = {}): Promise<Decision> {
    const { decision } = await judge(args, hooks.roots ?? (await opts.roots()));
    if (!("allow" in decision)) return deny(decision.rule, decision.reason);
    if (decision.allow && !isRunnable(decision)) return deny("commands.no_plan", "the policy allowed but gave no plan");
    return { allow: decision.allow, rule: decision.rule, reason: decision.reason };
  }

  function recordIntentOf(args: ExecuteArgs, decision: CommandDecision, hooks: ExecuteHooks, approval?: string): Promise<OpenCall | AuditRefusal> {
    if (opts.audit === NULL_AUDIT_SINK) return Promise.resolve(UNLOGGED); // no log: skip building and redacting a record
    const tool = hooks.tool ?? "execute_command";
    return recordIntent(opts.audit, { tool, args: redact({ ...args }), rule: decision.rule, backend: backend.name, ...(approval ? { approval } : {}), ...callerOf(hooks) });
  }

  /** The one record of a call that did not run. */
  async function auditRefusal(outcome: BridgeOutcome, args: ExecuteArgs, started: number, hooks: ExecuteHooks): Promise<BridgeOutcome> {
    if (opts.audit === NULL_AUDIT_SINK) return outcome;
    const entry = { time: new Date().toISOString(), tool: hooks.tool ?? "execute_command", args: redact({ ...args }), ...outcomeFacts(outcome, started), ...callerOf(hooks) };
    // Nothing ran, so a refusal the log cannot take is still a refusal.
    await recordCall(opts.audit, entry);
    return outcome;
  }

  function outcomeFacts(outcome: BridgeOutcome, started: number): OutcomeFacts {
    return {
      decision: !outcome.allowed ? "deny" : outcome.result?.error ? "error" : "allow",
      rule: outcome.rule,
      exit_code: outcome.result?.exit_code,
      bytes: outcome.result ? Buffer.byteLength(outcome.result.stdout) + Buffer.byteLength(outcome.result.stderr) : undefined,
      duration_ms: Math.round(performance.now() - started),
      backend: backend.name,
      ...(outcome.handle ? { handle: outcome.handle } : {}),
      result_sha256: resultDigest(digestedOf(outcome)),
      ...(outcome.result?.placement ? { placement: outcome.result.placement } : {}),
    };
  }

  function busy(): Decision {
    return deny(
      "execution.busy",
      `busy: ${slots.running} commands are running on this server, the limit is ${slots.limit} (policy execution.max_concurrent_commands); ` +
        "try again when one has ended, or stop a background process with kill_process",
    );
  }

  /** The policy decision, or in privileged mode the whole command handed to `sh -c`. */
  async function decideCall(call: NormalizedCall): Promise<CommandDecision | Decision> {
    if (privileged) {
      const sh = (await backend.which("sh", policy.commands.trusted_path)) ?? "/bin/sh";
      return { ...allow("privileged", "policy checks are off (privileged mode)"), plan: { kind: "script", shell: sh, script: call.command } };
    }
    return askWithBackend(scope(call), (env) => rules.decideCommand(call.command, policy, env));
  }

  function scope(call: { roots: EffectiveRoot[]; cwd: string }) {
    return { backend, policy, roots: call.roots, cwd: call.cwd, extraAllowed, cache: programs };
  }

  /** Runs the plan on the backend. The slot is freed when the command ends (a background one: when its process does). */
  async function dispatch(call: NormalizedCall, decision: CommandDecision & { plan: ExecutionPlan }, hooks: ExecuteHooks, slot: CommandSlot): Promise<BridgeOutcome> {
    const request = toRequest(call, decision.plan!, hooks.signal, hooks.owner ?? hooks.session ?? undefined);
    const base = { allowed: true, rule: decision.rule, reason: decision.reason, backend: backend.name };
    try {
      if (call.background) {
        const meta = { command: call.command, inputGuard: inputGuardFor(call, decision), onEnd: () => slot.release(), ...(hooks.owner ? { owner: hooks.owner } : {}) };
        const started = await opts.processes!.start(backend, request, meta);
        if (!started.ok) slot.release();
        return started.ok ? { ...base, handle: started.handle } : refused(started);
      }
      const result = await withProgress(backend.run(request), hooks.onProgress).finally(() => slot.release());
      return { ...base, result };
    } catch (err) {
      slot.release();
      if (err instanceof ExecRefusal) return refused(deny(err.rule, err.message));
      return { ...base, result: failedResult((err as Error).message) };
    }
  }

  function toRequest(call: NormalizedCall, plan: ExecutionPlan, signal?: AbortSignal, session?: string): ExecRequest {
    const e = policy.execution;
    return {
      argv: plan.kind === "argv" ? plan.argv : [plan.shell],
      ...(plan.kind === "script" ? { script: plan.script } : {}),
      cwd: call.cwd,
      env: call.env,
      ...(call.stdin !== undefined ? { stdin: call.stdin } : {}),
      timeoutMs: call.timeoutMs,
      outputCapBytes: e.output_cap_bytes,
      limits: { memoryMb: e.memory_mb, processes: e.processes, cpuS: e.cpu_s, fileSizeMb: e.file_size_mb, network: e.network },
      roots: requestRoots(call.roots),
      denyGlobs: policy.filesystem.deny,
      denyScanLimit: e.deny_scan_limit,
      denyScanBudgetMs: e.deny_scan_budget_ms,
      signal,
      ...(session ? { session } : {}),
    };
  }

  /**
   * Input written to a background process goes through the policy's decideProcessInput: data for
   * most programs, whole checked command lines for a shell. For a script plan the program that
   * reads stdin may be a shell the script started (`cd x && bash`), so the first shell named in the
   * decision is taken as the reader.
   */
  function inputGuardFor(call: NormalizedCall, decision: CommandDecision): (input: string) => Promise<Decision> {
    const plan = decision.plan!;
    const reader =
      plan.kind === "argv"
        ? plan.argv[0]!
        : (decision.commands ?? []).map((c) => c.program).find((p) => SHELLS.has(basename(p))) ?? (privileged ? plan.shell : "script");
    return async (input) => {
      if (privileged) return allow("privileged", "policy checks are off (privileged mode)");
      return askWithBackend(scope(call), (env) => rules.decideProcessInput(input, reader, policy, env));
    };
  }

  function withProgress(run: Promise<ExecResult>, onProgress?: (message: string) => void): Promise<ExecResult> {
    if (!onProgress) return run;
    const t0 = Date.now();
    const timer = setInterval(() => onProgress(`running for ${Math.round((Date.now() - t0) / 1000)} s`), opts.progressIntervalMs ?? 5000);
    return run.finally(() => clearInterval(timer));
  }

  function refused(d: { rule: string; reason: string }): BridgeOutcome {
    return { allowed: false, rule: d.rule, reason: d.reason, backend: backend.name };
  }

  async function checkProgram(program: string, hooks: Pick<ExecuteHooks, "roots"> = {}): Promise<ProgramCheck> {
    const name = program.trim();
    const roots = commandRoots(backend, hooks.roots ?? (await opts.roots()));
    const cwd = roots[0]?.path ?? "/";
    const path = name.includes("/")
      ? SHARES_HOST_PATHS.has(backend.name)
        ? canonicalHostProgram(name, cwd)
        : null
      : await backend.which(name, policy.commands.trusted_path).catch(() => null);
    let decision: Decision;
    if (privileged) decision = allow("privileged", "policy checks are off (privileged mode)");
    else if (!name || /\s/.test(name)) decision = deny("input.invalid", "give a single program name or path");
    else decision = await askWithBackend({ backend, policy, roots, cwd, extraAllowed, cache: programs }, (env) => rules.decideProgram(name, policy, env));
    return { program: name, exists: path !== null, path, allowed: decision.allow && path !== null, rule: decision.rule, reason: path === null ? "not found on the trusted PATH" : decision.reason };
  }

  return {
    execute,
    decide,
    checkProgram,
    describe() {
      const d = backend.describe();
      return { backend: d.backend, confinement: d.confinement, privileged, ...(d.detail ? { detail: d.detail } : {}) };
    },
    async warm(roots?: EffectiveRoot[]) {
      if (!backend.warm || policy.filesystem.deny.length === 0) return;
      backend.warm({
        roots: requestRoots(roots ?? (await opts.roots())),
        denyGlobs: policy.filesystem.deny,
        denyScanLimit: policy.execution.deny_scan_limit,
      });
    },
    ...(backend.placement ? { placement: (session: string) => backend.placement!(session) } : {}),
    ...(backend.sessions ? { sessions: () => backend.sessions!() } : {}),
    ...(backend.endSession ? { endSession: (session: string) => backend.endSession!(session) } : {}),
    async close() {
      await opts.processes?.close();
      await backend.close();
    },
  };
}

/** The roots as a backend gets them: path, writability and the held directory. */
function requestRoots(roots: EffectiveRoot[]): ExecRequest["roots"] {
  return roots.map((r) => ({ path: r.path, writable: r.writable, ...(r.held ? { held: r.held } : {}) }));
}

/** Who asked: every record names its transport, client and session. */
function callerOf(hooks: ExecuteHooks): { transport?: string; client?: string; session?: string | null; request?: string; workspace?: string } {
  return {
    ...(hooks.request !== undefined ? { request: hooks.request } : {}),
    ...(hooks.transport ? { transport: hooks.transport } : {}),
    ...(hooks.client ? { client: hooks.client } : {}),
    ...(hooks.session !== undefined ? { session: hooks.session } : {}),
    ...(hooks.workspace ? { workspace: hooks.workspace } : {}),
  };
}

/** An allowed decision that says how to run the command. */
function isRunnable(d: CommandDecision | Decision | { rule: string }): d is CommandDecision & { plan: ExecutionPlan } {
  return "allow" in d && d.allow && "plan" in d && d.plan !== undefined;
}

/**
 * What the caller gets back, for the record's result digest: the command's result without its
 * timing (what execute_command returns as structured content), the handle of a background start,
 * or the rule and reason of a refusal.
 */
function digestedOf(outcome: BridgeOutcome): Parameters<typeof resultDigest>[0] {
  if (!outcome.allowed) return { ok: false, rule: outcome.rule, message: outcome.reason };
  if (outcome.handle) return { ok: true, structured: { handle: outcome.handle } };
  const r = outcome.result;
  if (!r || r.error) return { ok: false, rule: "execution.error", message: r?.error ?? "no result" };
  return { ok: true, structured: { exit_code: r.exit_code, stdout: r.stdout, stderr: r.stderr, timed_out: r.timed_out, truncated: r.truncated } };
}

/** Values of env and the stdin text never reach the audit log, whatever their names. */
function withoutValues(args: Record<string, unknown>): Record<string, unknown> {
  const out = { ...args };
  if (out.env && typeof out.env === "object") out.env = Object.fromEntries(Object.keys(out.env).map((k) => [k, "[redacted]"]));
  if (typeof out.stdin === "string") out.stdin = `[${Buffer.byteLength(out.stdin)} bytes]`;
  return out;
}
