import type { HeldDir } from "../policy/roots.js";
import { LiveGate, recordHolderApi, snapshotLiveWorkspace, type WorkspaceHandle } from "../workspace/index.js";
import type { AuditSink } from "../audit/types.js";
import { auditedWorkspaceOp } from "./workspace-audit.js";
import { ControlError, controlFailure, serveWorkspaceControl, type ControlReply, type ControlRequest } from "./workspace-control.js";

/** One workspace this server holds live: its handle and the gate its writers and its live checkpoints share. */
export interface LiveWorkspace {
  handle: WorkspaceHandle;
  gate: LiveGate;
}

/**
 * The workspaces this server holds live (serve --overlay: its own; --workspace-per-session: one per
 * MCP session), by name and by the namespace their roots are held in (`HeldDir.via`, which is what a
 * command's roots carry). One object per server (built with its deps), no module state. It is what
 * lets the operator checkpoint a live workspace (POST /api/v1/workspaces/NAME/checkpoints on the
 * server holding it): commands and file writes enter the workspace's gate, a checkpoint waits for
 * the writes, refuses while a command runs, and copies the upper layer meanwhile.
 */
export class LiveWorkspaces {
  private readonly byName = new Map<string, LiveWorkspace>();
  private api: string | undefined;

  /**
   * `control`: each live workspace gets a control socket (server/workspace-control.ts) on which
   * `warden workspace checkpoint NAME` asks for a live checkpoint, whatever the server's transport
   * (a stdio server has no HTTP route); each is audited like the REST API's. Without it, none is opened.
   */
  constructor(private readonly opts: { control?: { audit: AuditSink; log: (line: string) => void } } = {}) {}

  /** Registers a workspace opened by this server; the result unregisters it (call before closing it). */
  add(handle: WorkspaceHandle): () => void {
    const entry = { handle, gate: new LiveGate() };
    this.byName.set(handle.name, entry);
    this.announce(entry);
    const control = this.opts.control;
    const stop = control
      ? serveWorkspaceControl(handle.dir, (req) => this.controlled(entry, req, control), control.log).catch((err: Error) => {
          control.log(`workspace ${handle.name}: no control socket (${err.message}); \`warden workspace checkpoint\` cannot reach this server, POST /api/v1/workspaces/${handle.name}/checkpoints can (serve --http)`);
          return () => {};
        })
      : undefined;
    return () => {
      if (this.byName.get(handle.name) === entry) this.byName.delete(handle.name);
      void stop?.then((close) => close());
    };
  }

  /** The server's HTTP address (serve --http): recorded in every live workspace's manifest, for `warden workspace checkpoint` to name. */
  servedAt(url: string): void {
    this.api = url;
    for (const w of this.byName.values()) this.announce(w);
  }

  private announce(w: LiveWorkspace): void {
    if (this.api === undefined) return;
    try {
      recordHolderApi(w.handle.dir, w.handle.holderPid, this.api);
    } catch {
      // Only a message's hint depends on it: the CLI then names the route without the address.
    }
  }

  /** The live workspace of that name held by this server, in that workspace directory. */
  get(name: string, dir?: string): LiveWorkspace | undefined {
    const w = this.byName.get(name);
    return w && (dir === undefined || w.handle.dir === dir) && w.handle.alive() ? w : undefined;
  }

  /** The gates of the workspaces the given roots are held in (none for roots in this process's own namespace). */
  gatesOf(roots: ReadonlyArray<{ held?: HeldDir | undefined }>): LiveGate[] {
    const vias = new Set(roots.flatMap((r) => (r.held?.via !== undefined ? [r.held.via] : [])));
    return [...this.byName.values()].filter((w) => vias.has(`/proc/${w.handle.holderPid}/root`)).map((w) => w.gate);
  }

  /** Holds the gates for one write or one command; the result lets go of all of them. */
  async enter(gates: LiveGate[], kind: "write" | "command"): Promise<() => void> {
    const releases: (() => void)[] = [];
    for (const g of gates) releases.push(await g.enter(kind));
    return () => {
      for (const r of releases) r();
    };
  }

  /** A request on a workspace's control socket: a live checkpoint, audited as `api.workspace.checkpoint` from client `control-socket`. */
  private async controlled(w: LiveWorkspace, req: ControlRequest, deps: { audit: AuditSink; log: (line: string) => void }): Promise<ControlReply> {
    try {
      const args = { name: w.handle.name, ...(req.label ? { label: req.label } : {}), live: true };
      const r = await auditedWorkspaceOp(deps, { client: "control-socket" }, "checkpoint", args, () => this.checkpoint(w, req.label), {
        failure: (err) => {
          const f = controlFailure(err);
          return { decision: f.code === "refused" ? "deny" : "error", rule: f.code === "internal" ? "internal_error" : `workspace.${f.code}` };
        },
        unavailable: (reason) => new ControlError("audit_unavailable", `workspace checkpoint was not carried out: ${reason}`),
      });
      return { ok: true, ...r };
    } catch (err) {
      return controlFailure(err);
    }
  }

  /** A live checkpoint of a workspace this server holds: taken with the workspace quiet (workspace/live-gate.ts). */
  checkpoint(w: LiveWorkspace, label?: string): Promise<{ label: string; id: string; created: string }> {
    return w.gate.quiet(w.handle.name, () => snapshotLiveWorkspace(w.handle.dir, w.handle.holderPid, label));
  }
}
