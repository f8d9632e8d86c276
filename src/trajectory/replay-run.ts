import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { openWorkspace } from "../workspace/index.js";
import { loadWorkspace, stateOf } from "../workspace/store.js";
import { BlobStore, blobDir } from "./blob-store.js";
import { TrajectoryError } from "./errors.js";
import { listSessions, readSession } from "./read-session.js";
import { treeDifferences, treeHash } from "./tree-hash.js";
import type { Trajectory } from "./types.js";

export interface ReplayRunInput {
  trajectory: Trajectory;
  stateDir: string;
  /** The workspace the recorded session ran in (serve --overlay --workspace). */
  workspace: string;
  /** The fresh workspace the calls run again in. */
  replayName: string;
  /** Where the replay's own server writes its audit log (outside every root). */
  replayLog: string;
  /** `warden` itself (dist/cli/main.js) and the serve flags beyond the roots and overlay ones (--policy, --allow, --read-only). */
  cli: string;
  serveFlags: string[];
}

export interface ReplayStepReport {
  index: number;
  tool: string;
  status: "same" | "different" | "skipped";
  why?: string;
  recorded?: { decision: string; rule: string; result_sha256?: string };
  replayed?: { decision: string; rule: string; result_sha256?: string };
}

export interface ReplayRunReport {
  session: string;
  replay_session: string;
  workspace: string;
  replay_workspace: string;
  replay_log: string;
  steps: ReplayStepReport[];
  tree: { recorded: string; replayed: string; same: boolean; differences: string[] }[];
  same: boolean;
  notes: string[];
}

/** Calls that name a process of the recorded run (its handle means nothing in another run). */
const NOT_REPLAYED = new Set(["read_process_output", "write_process_input", "kill_process", "list_processes"]);

/**
 * Runs a recorded session's calls again, in order, on a fresh workspace over the same roots (the
 * real tree: the start the recorded workspace began from), through a real `warden serve --overlay`
 * and its MCP interface, then compares: each call's result digest (both sides read from the audit
 * logs) and the final merged tree of each root (tree-hash.ts). Contents come back from the blob
 * store, authenticated by the digests in the recorded log; a call whose arguments cannot be
 * restored (a redacted value, a process handle, a background command) is skipped and said so.
 */
export async function replayRun(input: ReplayRunInput): Promise<ReplayRunReport> {
  const { manifest } = loadWorkspace(input.stateDir, input.workspace);
  if (stateOf(manifest) === "live") throw new TrajectoryError(`workspace ${input.workspace} is live (its server runs): stop that server first, so its final tree holds still`, true);
  const roots = manifest.roots.map((r) => r.path);
  const notes: string[] = [];
  if (manifest.forkedFrom) notes.push(`workspace ${input.workspace} was forked from ${manifest.forkedFrom.name}${manifest.forkedFrom.label ? ` at ${manifest.forkedFrom.label}` : ""}; the replay starts from the real tree`);
  if (manifest.layers.length > 0) notes.push(`workspace ${input.workspace} has ${manifest.layers.length} checkpoint(s); its final tree includes everything done in it, not only this session`);

  const blobs = new BlobStore(blobDir(input.stateDir));
  const steps: ReplayStepReport[] = [];
  const sent: number[] = [];
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [input.cli, "serve", "--overlay", "--workspace", input.replayName, "--state-dir", input.stateDir, "--audit-log", input.replayLog, ...roots.flatMap((r) => ["--root", r]), ...input.serveFlags],
    stderr: "pipe",
  });
  let stderr = "";
  transport.stderr?.on("data", (d: Buffer) => (stderr += d.toString()));
  const client = new Client({ name: "warden-trajectory-replay", version: "1" }, { capabilities: {} });
  try {
    await client.connect(transport);
  } catch (err) {
    throw new TrajectoryError(`the replay server did not start: ${(err as Error).message}\n${stderr.trim()}`);
  }
  try {
    let stopped: string | null = null;
    for (const step of input.trajectory.steps) {
      const skip = (why: string) => steps.push({ index: step.index, tool: step.tool, status: "skipped", why });
      if (stopped) skip(stopped);
      else if (NOT_REPLAYED.has(step.tool)) skip("it names a process of the recorded run");
      else if (step.args.background === true) skip("a background command (its output depends on when it is read)");
      else {
        const restored = blobs.restore(step.args);
        if (!restored.ok) skip(restored.why);
        else {
          try {
            // Progress notifications (long commands send them) keep the request alive, as for an agent.
            await client.callTool({ name: step.tool, arguments: restored.args }, undefined, { onprogress: () => {}, resetTimeoutOnProgress: true });
            sent.push(step.index);
          } catch (err) {
            // Its record may still reach the replay's log: stop here so the calls and the records stay aligned.
            steps.push({ index: step.index, tool: step.tool, status: "different", why: `the replayed call got no answer: ${(err as Error).message}` });
            stopped = `not sent: the replay stopped after call ${step.index} got no answer`;
          }
        }
      }
    }
  } finally {
    await client.close();
  }

  const replayed = await replaySteps(input.replayLog);
  for (const [i, index] of sent.entries()) {
    const r = input.trajectory.steps[index - 1]!;
    const p = replayed.steps[i];
    const recorded = { decision: r.decision, rule: r.rule, ...(r.result_sha256 ? { result_sha256: r.result_sha256 } : {}) };
    const again = p ? { decision: p.decision, rule: p.rule, ...(p.result_sha256 ? { result_sha256: p.result_sha256 } : {}) } : undefined;
    const same = !!p && p.tool === r.tool && p.decision === r.decision && !!r.result_sha256 && p.result_sha256 === r.result_sha256;
    steps.push({ index, tool: r.tool, status: same ? "same" : "different", recorded, ...(again ? { replayed: again } : {}), ...(r.result_sha256 ? {} : { why: "the recorded call has no result digest (a log from before result_sha256)" }) });
  }
  steps.sort((a, b) => a.index - b.index);

  const tree = await compareTrees(input.stateDir, input.workspace, input.replayName, roots);
  return {
    session: input.trajectory.session,
    replay_session: replayed.session,
    workspace: input.workspace,
    replay_workspace: input.replayName,
    replay_log: input.replayLog,
    steps,
    tree,
    same: steps.every((s) => s.status !== "different") && tree.every((t) => t.same),
    notes,
  };
}

/** The replay server has exited; its holder follows it a moment later (EOF on its pipe). Wait for that, boundedly. */
async function released(stateDir: string, name: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (stateOf(loadWorkspace(stateDir, name).manifest) !== "live") return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new TrajectoryError(`workspace ${name} is still held 10 s after the replay's server exited; run \`warden workspace list --state-dir ${stateDir}\``);
}

async function replaySteps(log: string): Promise<Trajectory> {
  const sessions = await listSessions({ log });
  if (sessions.length !== 1) throw new TrajectoryError(`the replay's log ${log} holds ${sessions.length} sessions, expected its one`);
  return readSession({ log }, sessions[0]!.session);
}

/** The merged view of each root in both workspaces, mounted again (no server holds them now) and hashed. */
async function compareTrees(stateDir: string, recorded: string, replay: string, roots: string[]): Promise<ReplayRunReport["tree"]> {
  await released(stateDir, replay);
  const a = await openWorkspace({ stateDir, name: recorded, roots });
  try {
    const b = await openWorkspace({ stateDir, name: replay, roots });
    try {
      return a.merged.map((m, i) => {
        const x = treeHash(m.viaProc);
        const y = treeHash(b.merged[i]!.viaProc);
        return { recorded: x.hash, replayed: y.hash, same: x.hash === y.hash, differences: treeDifferences(x, y).map((p) => `${m.root}/${p}`) };
      });
    } finally {
      await b.close();
    }
  } finally {
    await a.close();
  }
}
