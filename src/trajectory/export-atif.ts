import type { Trajectory, TrajectoryStep } from "./types.js";

/** The ATIF version written (Harbor's RFC 0001, "Agent Trajectory Interchange Format", v1.6). */
export const ATIF_VERSION = "ATIF-v1.6";

/**
 * Harbor's Agent Trajectory Interchange Format. The server sees tool calls, not the model's
 * messages, so every call is one `agent` step with one tool call and its observation; a checkpoint
 * is a `system` step. The observation's content is a summary (decision, rule, result digest): the
 * audit log keeps no results, only their sha256. Audit facts (seq, MAC, rule, digest, timing) are in
 * each step's `extra`, so the export can be checked against the chain.
 */
export function toAtif(t: Trajectory, agent: { name: string; version: string }): Record<string, unknown> {
  const steps: Record<string, unknown>[] = [];
  const checkpointsAfter = (n: number) => {
    for (const c of t.checkpoints.filter((c) => c.after_step === n)) {
      steps.push({ step_id: steps.length + 1, timestamp: c.time, source: "system", message: `workspace checkpoint ${c.label}`, extra: { checkpoint: c } });
    }
  };
  checkpointsAfter(0);
  for (const s of t.steps) {
    steps.push(agentStep(steps.length + 1, s));
    checkpointsAfter(s.index);
  }
  return {
    schema_version: ATIF_VERSION,
    session_id: t.session,
    agent: { name: agent.name, version: agent.version, extra: { client: t.client ?? null, transport: t.transport ?? null } },
    steps,
    notes: `Tool calls recorded by ${agent.name}'s audit log ${t.log}, seq ${t.first_seq}..${t.last_seq}; the chain was verified through the last one. Arguments are redacted as the audit log keeps them; results are named by sha256, not stored.`,
    final_metrics: { total_steps: steps.length },
    extra: { audit_log: t.log, first_seq: t.first_seq, last_seq: t.last_seq, verified: t.verified, ...(t.workspace ? { workspace: t.workspace } : {}) },
  };
}

function agentStep(id: number, s: TrajectoryStep): Record<string, unknown> {
  const callId = `call-${s.index}`;
  const summary = [`${s.decision}`, s.rule ? `rule ${s.rule}` : "", s.exit_code !== undefined ? `exit_code ${s.exit_code}` : "", s.result_sha256 ? `result sha256:${s.result_sha256}` : ""].filter(Boolean).join("; ");
  return {
    step_id: id,
    timestamp: s.time,
    source: "agent",
    message: `${s.tool} call ${s.index}`,
    tool_calls: [{ tool_call_id: callId, function_name: s.tool, arguments: s.args }],
    observation: { results: [{ source_call_id: callId, content: summary }] },
    extra: {
      decision: s.decision,
      rule: s.rule,
      audit: s.audit,
      ...(s.result_sha256 ? { result_sha256: s.result_sha256 } : {}),
      ...(s.duration_ms !== undefined ? { duration_ms: s.duration_ms } : {}),
      ...(s.exit_code !== undefined ? { exit_code: s.exit_code } : {}),
      ...(s.backend ? { backend: s.backend } : {}),
    },
  };
}
