import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from "prom-client";
import type { AuditFeed } from "../../../audit/feed.js";
import type { ApprovalCounters } from "../../../approvals/metrics-hook.js";

/** How a tool call ended, as the metrics count it (no arguments, paths or ids: labels stay bounded). */
export interface CallObservation {
  tool: string;
  decision: "allow" | "deny" | "error";
  rule: string;
  duration_ms: number;
  /** Commands only: the backend that ran (or would have run) it and its exit code. */
  backend?: string;
  exit_code?: number | null;
}

/** The server's metrics: one private prom-client Registry per server, never the global one. */
export interface WardenMetrics {
  readonly registry: Registry;
  observeCall(call: CallObservation): void;
  sessionOpened(transport: string): void;
  sessionClosed(transport: string): void;
  /** What the approvals queue reports to (approvals/metrics-hook.ts connects them in buildDeps). */
  readonly approvals: ApprovalCounters;
  /** Prometheus text exposition and its content type. */
  expose(): Promise<{ text: string; contentType: string }>;
}

const COMMAND_TOOLS = new Set(["execute_command", "api.execute"]);
/** A label value is an identifier from the server's own vocabulary; cut anything longer so a label can never carry data. */
const label = (v: string): string => (v.length > 80 ? `${v.slice(0, 77)}...` : v);

export function createWardenMetrics(opts: { version: string; backend: string; policySha256: string; feed: AuditFeed }): WardenMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: "mcp_warden_" });
  const m = {
    calls: new Counter({ name: "mcp_warden_tool_calls_total", help: "Tool calls by tool and decision (allow, deny, error).", labelNames: ["tool", "decision"], registers: [registry] }),
    denials: new Counter({ name: "mcp_warden_policy_denials_total", help: "Calls denied, by tool and the rule that denied them.", labelNames: ["tool", "rule"], registers: [registry] }),
    duration: new Histogram({
      name: "mcp_warden_tool_duration_seconds",
      help: "Wall time of tool calls, policy and audit included.",
      labelNames: ["tool"],
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers: [registry],
    }),
    commands: new Counter({ name: "mcp_warden_command_runs_total", help: "Commands by backend and outcome (exit_zero, exit_nonzero, denied, error).", labelNames: ["backend", "outcome"], registers: [registry] }),
    sessions: new Gauge({ name: "mcp_warden_sessions_active", help: "Open MCP sessions by transport.", labelNames: ["transport"], registers: [registry] }),
    records: new Counter({ name: "mcp_warden_audit_records_total", help: "Audit records written.", registers: [registry] }),
    writeErrors: new Counter({ name: "mcp_warden_audit_write_errors_total", help: "Audit records that could not be written (the call was refused or its outcome went unrecorded).", registers: [registry] }),
    approvals: new Counter({ name: "mcp_warden_approvals_total", help: "Approval questions by how they ended.", labelNames: ["outcome"], registers: [registry] }),
    pending: new Gauge({ name: "mcp_warden_approvals_pending", help: "Calls waiting for a human.", registers: [registry] }),
    build: new Gauge({ name: "mcp_warden_build_info", help: "Always 1: the version and execution backend.", labelNames: ["version", "backend"], registers: [registry] }),
    policy: new Gauge({ name: "mcp_warden_policy_info", help: "Always 1: sha256 of the loaded policy (canonical JSON).", labelNames: ["sha256"], registers: [registry] }),
  };
  m.build.set({ version: opts.version, backend: opts.backend }, 1);
  m.policy.set({ sha256: opts.policySha256 }, 1);
  m.pending.set(0);
  m.records.inc(0);
  m.writeErrors.inc(0);
  opts.feed.subscribe({ record: () => m.records.inc(), error: () => m.writeErrors.inc() });

  return {
    registry,
    observeCall(c) {
      const tool = label(c.tool);
      m.calls.inc({ tool, decision: c.decision });
      if (c.decision === "deny") m.denials.inc({ tool, rule: label(c.rule) });
      m.duration.observe({ tool }, c.duration_ms / 1000);
      if (COMMAND_TOOLS.has(c.tool)) {
        const outcome = c.decision === "deny" ? "denied" : c.decision === "error" || c.exit_code === undefined || c.exit_code === null ? "error" : c.exit_code === 0 ? "exit_zero" : "exit_nonzero";
        m.commands.inc({ backend: label(c.backend ?? opts.backend), outcome });
      }
    },
    sessionOpened: (transport) => m.sessions.inc({ transport }),
    sessionClosed: (transport) => m.sessions.dec({ transport }),
    approvals: {
      answered: (outcome) => m.approvals.inc({ outcome: label(outcome) }),
      pending: (count) => m.pending.set(count),
    },
    async expose() {
      return { text: await registry.metrics(), contentType: registry.contentType };
    },
  };
}
