import { fileURLToPath } from "node:url";
import { intersectRoots, type ClientRoot, type EffectiveRoot } from "../policy/roots.js";
import { canonicalClientRoots } from "../config/resolve-roots.js";
import type { RootHolder } from "../config/held-roots.js";

/** How the server asks the client for its roots (a roots/list request). */
export type ListClientRoots = () => Promise<{ roots: { uri: string; name?: string }[] }>;

/**
 * The effective roots of one MCP session (SPEC "Roots"): configured roots narrowed by the client's
 * roots when it offers them. The client's list is fetched lazily, inside the first tool call after
 * `initialized` or after a `roots/list_changed`, as a request related to that call: it then travels
 * on the call's own response stream, which every transport has open (a server-initiated request
 * sent right after `initialized` can be lost over Streamable HTTP before the client opens its GET
 * stream). One per session; no shared state.
 */
export class RootsManager {
  private client: ClientRoot[] | null = null;
  private stale = false;
  private pending: Promise<void> | null = null;

  constructor(
    private readonly configured: EffectiveRoot[],
    private readonly fallback: EffectiveRoot,
    private readonly readOnlyAll: boolean,
    private readonly log: (message: string) => void = () => {},
    private readonly holder?: RootHolder,
  ) {}

  /** The client's roots may have changed (initialized with roots support, roots/list_changed). */
  markStale(): void {
    this.stale = true;
  }

  /** Effective roots now; refreshes the client's list first when it is stale and `list` is given. */
  async current(list?: ListClientRoots): Promise<EffectiveRoot[]> {
    if (this.stale && list && !this.pending) {
      this.stale = false;
      this.pending = this.refresh(list).finally(() => {
        this.pending = null;
      });
    }
    if (this.pending) await this.pending;
    const roots = intersectRoots(this.configured, this.client, this.fallback);
    return this.readOnlyAll ? roots.map((r) => ({ ...r, writable: false })) : roots;
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
      this.client = canonicalClientRoots(paths, this.holder, (message) => this.log(`ignoring client root: ${message}`));
      if (paths.length > 0 && this.client.length === 0) this.log("none of the client's roots exist on this machine");
    } catch (err) {
      this.log(`roots/list failed, keeping the previous roots: ${(err as Error).message}`);
    }
  }
}
