import { resolve } from "node:path";
import { NULL_AUDIT_SINK, openAuditLog } from "../audit/file-log.js";
import type { AuditSink } from "../audit/types.js";
import { canonicalSha256 } from "../approvals/binding.js";
import type { ApprovalServices } from "../approvals/gate.js";
import { connectApprovalMetrics } from "../approvals/metrics-hook.js";
import { ApprovalQueue } from "../approvals/queue.js";
import { exposedAuditFile, resolveAuditFiles, type AuditFiles } from "../config/audit-files.js";
import { defaultPolicyPath, loadPolicyFile } from "../config/load-policy.js";
import { packageVersion } from "../config/package-root.js";
import { RootHolder } from "../config/held-roots.js";
import { canonicalRoot, configuredRoots as readConfiguredRoots } from "../config/resolve-roots.js";
import type { ClientRootsMode, EffectiveRoot } from "../policy/roots.js";
import type { Policy } from "../policy/schema/index.js";
import { createSandbox } from "../sandbox/index.js";
import type { Sandbox } from "../sandbox/types.js";
import { createBackend, selectBackend } from "../exec/select-backend.js";
import { createExecServices, COMMANDS_SERVICE, PROCESSES_SERVICE } from "../exec/services.js";
import { commandTools } from "../tools/command-tools.js";
import { fileTools } from "../tools/file-tools.js";
import type { ToolDefinition, ToolServices } from "../tools/tool.js";
import { AuditFeed } from "../audit/feed.js";
import { createOps, type Ops } from "./ops.js";
import { openOverlayMode, overlayWanted, type OverlayFacts, type OverlayFlags } from "./overlay-mode.js";
import { RootsManager } from "./roots-manager.js";
import { LiveWorkspaces } from "./live-workspaces.js";

/** Options of `warden serve` after the CLI parsed them (flags win over env, env over policy). */
export interface ServeOptions {
  roots: string[];
  readOnly: string[];
  policyPath?: string;
  allow: string[];
  backend?: string;
  auditLog?: string;
  /** --dangerously-skip-policy; EXECUTION_MODE=privileged is read with the other backend names. */
  privileged: boolean;
  workers?: number;
  /** --client-roots; default: the policy's filesystem.client_roots. */
  clientRoots?: ClientRootsMode;
  cwd: string;
  env: NodeJS.ProcessEnv;
  log: (message: string) => void;
  /** serve --overlay and its companions (server/overlay-mode.ts). */
  overlay?: OverlayFlags;
}

/** Everything a server session needs, built once per process and shared by every session. */
export interface WardenDeps {
  version: string;
  policy: Policy;
  policyPath: string;
  configuredRoots: EffectiveRoot[];
  fallbackRoot: EffectiveRoot;
  /** Holds every root by descriptor (configured at start, client roots when offered). */
  rootHolder: RootHolder;
  /** Whether the client's MCP roots narrow the configured ones (flag, else policy). */
  clientRoots: ClientRootsMode;
  options: ServeOptions;
  sandbox: Sandbox;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  tools: ToolDefinition<any>[];
  services: ToolServices;
  audit: AuditSink;
  /** Canonical paths of the audit log, its key and its head (null without a log): never inside a root. */
  auditFiles: AuditFiles | null;
  /** The live audit feed and the metrics (server/ops.ts). */
  ops: Ops;
  /** The operator queue and what binds an approval (src/approvals/); without it, ask rules deny. */
  approvals?: ApprovalServices;
  startedAt: number;
  log: (message: string) => void;
  /** serve --overlay: the copy-on-write workspace the roots are views of; absent in normal mode. */
  overlay?: OverlayFacts;
  /** serve --overlay: the workspaces this server holds live (its own, and per-session ones), for live checkpoints. */
  liveWorkspaces?: LiveWorkspaces;
  close(): Promise<void>;
}

/** Builds the process-wide dependencies from options. Nothing here is module-level state. */
export async function buildDeps(options: ServeOptions): Promise<WardenDeps> {
  const policyPath = resolve(options.cwd, options.policyPath ?? options.env.WARDEN_POLICY ?? defaultPolicyPath());
  const policy = loadPolicyFile(policyPath, options.env);
  // Every root is held by descriptor from here on (config/held-roots.ts).
  let holder = new RootHolder();
  let configuredRoots = readConfiguredRoots(policy, options, options.cwd, holder);
  let fallbackRoot = canonicalRoot(options.cwd, true, options.cwd, "cwd", holder);
  const clientRoots = options.clientRoots ?? policy.filesystem.client_roots;
  // Commands never reach the audit log or its key: refuse to start when a root would contain them
  // (with no configured roots, the working directory; client roots are checked per call).
  const auditFiles = resolveAuditFiles({ ...(options.auditLog ? { auditLog: options.auditLog } : {}), env: options.env, policy, cwd: options.cwd });
  const exposed = exposedAuditFile(auditFiles, configuredRoots.length > 0 ? configuredRoots : [fallbackRoot]);
  if (exposed) {
    holder.close();
    throw new Error(`refusing to start: ${exposed}`);
  }
  if (auditFiles && policy.execution.confinement === "none") options.log("WARNING: execution.confinement is none: commands run unconfined and can reach the audit log and its key.");
  const selection = selectBackend({ ...(options.backend ? { flag: options.backend } : {}), env: options.env, policy });
  // serve --overlay: every writable root becomes a workspace's merged view, held by descriptor there.
  let overlay: Awaited<ReturnType<typeof openOverlayMode>> | null = null;
  if (overlayWanted(options.overlay, policy)) {
    try {
      overlay = await openOverlayMode({ flags: options.overlay, policy, selection, configuredRoots, fallbackRoot, cwd: options.cwd, env: options.env });
    } finally {
      holder.close();
    }
    ({ holder, configuredRoots, fallbackRoot } = overlay);
  }
  // Every record also goes to the live feed (SSE, metrics) once the log took it.
  const feed = new AuditFeed();
  const audit = feed.wrap(auditFiles ? await openAuditLog(auditFiles.log, { keyFile: auditFiles.key, headFile: auditFiles.head, log: options.log }) : NULL_AUDIT_SINK);
  const sandbox = createSandbox({ workers: options.workers ?? 2, ...inlineFuelFromEnv(options.env) });
  // Each live workspace also answers `warden workspace checkpoint` on its control socket (server/workspace-control.ts).
  const live = overlay ? new LiveWorkspaces({ control: { audit, log: options.log } }) : undefined;
  const unlist = overlay && live ? live.add(overlay.handle) : () => {};
  const closers: (() => Promise<void>)[] = [overlay ? () => (unlist(), overlay.close()) : async () => holder.close(), () => sandbox.close(), () => audit.close()];
  const sessionlessRoots = new RootsManager({ configured: configuredRoots, fallback: fallbackRoot, readOnlyAll: policy.filesystem.read_only, holder });
  const backend = createBackend(selection, { policy, env: options.env, roots: configuredRoots, log: options.log });
  // --dangerously-skip-policy, or EXECUTION_MODE / --backend `privileged` (decided by selectBackend alone).
  const privileged = options.privileged || selection.privileged;
  if (privileged) options.log("WARNING: privileged mode: command policy checks are OFF. Every command the client sends runs (still audited).");
  const exec = createExecServices({
    backend,
    policy,
    audit,
    // REST and agent callers have no MCP session: they get the configured roots (or the working directory).
    roots: () => sessionlessRoots.current(),
    extraAllowed: options.allow,
    privileged,
    serverEnv: options.env,
    ...(live ? { enterWorkspace: (roots) => live.enter(live.gatesOf(roots), "command") } : {}),
  });
  closers.push(() => exec.close());
  // The filesystem.deny check of the roots starts now, not on the first command (which would start with a large tree unchecked, hence hidden).
  exec.commands.warm().catch((err: Error) => options.log(`filesystem.deny check at start: ${err.message}`));
  const approvals: ApprovalServices = { queue: new ApprovalQueue(), audit, policy, policySha256: canonicalSha256(policy) };
  closers.push(async () => approvals.queue.close());
  const version = packageVersion();
  const ops = createOps(feed, { version, backend: backend.name, policySha256: approvals.policySha256 });
  connectApprovalMetrics(approvals.queue, ops.metrics.approvals);
  const startedAt = Date.now();
  const deps: WardenDeps = {
    version,
    policy,
    policyPath,
    configuredRoots,
    fallbackRoot,
    rootHolder: holder,
    clientRoots,
    options,
    sandbox,
    tools: [...fileTools, ...commandTools],
    services: {
      server: { version, startedAt, policyPath, ...(overlay ? { workspace: overlay.facts } : {}) },
      [COMMANDS_SERVICE]: exec.commands,
      [PROCESSES_SERVICE]: exec.processes,
    },
    audit,
    auditFiles,
    ops,
    approvals,
    startedAt,
    log: options.log,
    ...(overlay ? { overlay: overlay.facts } : {}),
    ...(live ? { liveWorkspaces: live } : {}),
    async close() {
      for (const close of closers.reverse()) await close().catch((err) => options.log(`close: ${(err as Error).message}`));
    },
  };
  return deps;
}

/** WARDEN_INLINE_FUEL: the main-thread fuel budget (0 sends every file call to the worker pool); unset or invalid keeps the default. */
function inlineFuelFromEnv(env: Record<string, string | undefined>): { inlineFuel?: number } {
  const raw = env.WARDEN_INLINE_FUEL;
  if (raw === undefined || !/^\d+$/.test(raw)) return {};
  return { inlineFuel: Number(raw) };
}
