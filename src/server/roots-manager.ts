import { fileURLToPath } from "node:url";
import { intersectRoots, type EffectiveRoot } from "../policy/roots.js";
import { canonicalClientRoots } from "../config/resolve-roots.js";

/** How the server asks the client for its roots (the SDK's `server.listRoots`). */
export type ListClientRoots = () => Promise<{ roots: { uri: string; name?: string }[] }>;

/**
 * The effective roots of one MCP session (SPEC "Roots"): configured roots narrowed by the client's
 * roots when it offers them, refreshed on `roots/list_changed`. One per session; no shared state.
 */
export class RootsManager {
  private client: string[] | null = null;
  private pending: Promise<void> | null = null;

  constructor(
    private readonly configured: EffectiveRoot[],
    private readonly fallback: EffectiveRoot,
    private readonly readOnlyAll: boolean,
    private readonly log: (message: string) => void = () => {},
  ) {}

  /** Called once the client said it supports roots, and on every roots/list_changed. */
  refresh(list: ListClientRoots): Promise<void> {
    const run = (async () => {
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
        this.client = canonicalClientRoots(paths);
        if (paths.length > 0 && this.client.length === 0) this.log("none of the client's roots exist on this machine");
      } catch (err) {
        this.log(`roots/list failed, keeping the configured roots: ${(err as Error).message}`);
      }
    })();
    this.pending = run;
    return run;
  }

  /** Effective roots now; waits for a roots/list in flight so no call runs on stale roots. */
  async current(): Promise<EffectiveRoot[]> {
    if (this.pending) await this.pending;
    const roots = intersectRoots(this.configured, this.client, this.fallback);
    return this.readOnlyAll ? roots.map((r) => ({ ...r, writable: false })) : roots;
  }
}
