import { fileURLToPath } from "node:url";
import { emptyIntersectionReason, intersectRoots, type ClientRoot, type ClientRootsMode, type EffectiveRoot, type RootsState } from "../policy/roots.js";
import type { RootHolder } from "../config/held-roots.js";
import { canonicalClientRoots } from "../config/resolve-roots.js";

/** How the server asks the client for its roots (a roots/list request). */
export type ListClientRoots = () => Promise<{ roots: { uri: string; name?: string }[] }>;

export interface RootsManagerOptions {
  configured: EffectiveRoot[];
  /** The working directory: the root when nothing is configured or offered. */
  fallback: EffectiveRoot;
  /** policy filesystem.read_only: every root read-only, the client's too. */
  readOnlyAll: boolean;
  /** intersect (SPEC default) or ignore the client's roots. */
  clientRoots?: ClientRootsMode;
  log?: (message: string) => void;
  /** Holds the client's roots by descriptor from the moment they are offered (config/held-roots.ts). */
  holder?: RootHolder;
}

/**
 * The effective roots of one MCP session (SPEC "Roots"): configured roots narrowed by the client's
 * roots when it offers them (unless `clientRoots` is `ignore`). The client's list is fetched lazily,
 * inside the first tool call after `initialized` or after a `roots/list_changed`, as a request
 * related to that call: it then travels on the call's own response stream, which every transport
 * has open (a server-initiated request sent right after `initialized` can be lost over Streamable
 * HTTP before the client opens its GET stream). One per session; no shared state.
 */
export class RootsManager {
  private client: ClientRoot[] | null = null;
  private stale = false;
  private pending: Promise<void> | null = null;
  /** The last empty intersection logged, so each is logged once. */
  private loggedProblem: string | undefined;
  private readonly mode: ClientRootsMode;
  private readonly log: (message: string) => void;

  constructor(private readonly options: RootsManagerOptions) {
    this.mode = options.clientRoots ?? "intersect";
    this.log = options.log ?? (() => {});
  }

  /** The client's roots may have changed (initialized with roots support, roots/list_changed). */
  markStale(): void {
    if (this.mode === "intersect") this.stale = true;
  }

  /** Effective roots now; refreshes the client's list first when it is stale and `list` is given. */
  async current(list?: ListClientRoots): Promise<EffectiveRoot[]> {
    return (await this.state(list)).roots;
  }

  /** Effective roots with the inputs they came from and, when there are none, why. */
  async state(list?: ListClientRoots): Promise<RootsState> {
    if (this.stale && list && !this.pending) {
      this.stale = false;
      this.pending = this.refresh(list).finally(() => {
        this.pending = null;
      });
    }
    if (this.pending) await this.pending;
    const { configured, fallback, readOnlyAll } = this.options;
    const client = this.mode === "ignore" ? null : this.client;
    let roots = intersectRoots(configured, client, fallback);
    if (readOnlyAll) roots = roots.map((r) => ({ ...r, writable: false }));
    const problem = emptyIntersectionReason(configured, client?.map((c) => c.path) ?? null, roots);
    if (problem && problem !== this.loggedProblem) this.log(`no roots in this session: ${problem}`);
    this.loggedProblem = problem;
    return { roots, configured, client: client?.map((c) => c.path) ?? null, clientRoots: this.mode, ...(problem ? { problem } : {}) };
  }

  private async refresh(list: ListClientRoots): Promise<void> {
    try {
      const { roots } = await list();
      const paths: string[] = [];
      for (const r of roots) {
        if (!r.uri.startsWith("file://")) continue;
        try {
          paths.push(fileURLToPath(r.uri));
        } catch {
          this.log(`ignoring client root ${r.uri}: not a local file URI`);
        }
      }
      this.client = canonicalClientRoots(paths, this.options.holder, (message) => this.log(`ignoring client root: ${message}`));
      if (paths.length > 0 && this.client.length === 0) this.log("none of the client's roots exist on this machine");
    } catch (err) {
      this.log(`roots/list failed, keeping the previous roots: ${(err as Error).message}`);
    }
  }
}
