import type { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { RootHolder } from "../config/held-roots.js";
import { commandBridge } from "../exec/services.js";
import { mergedRootOpener } from "../config/merged-roots.js";
import type { EffectiveRoot } from "../policy/roots.js";
import { openWorkspace } from "../workspace/index.js";
import { createWardenServer, type SessionInfo } from "./create-server.js";
import type { WardenDeps } from "./deps.js";
import { mergedRootsOf, type OverlayFacts } from "./overlay-mode.js";

/** How many workspaces are made or closed at once (mount work is serialized in the kernel anyway). */
const DEFAULT_CONCURRENCY = 4;

/**
 * A server for each new MCP session (`serve --http --workspace-per-session`): with a per-session
 * factory every session gets its own copy-on-write workspace over the overlaid roots, named
 * `<server's workspace>-s<session id prefix>`, held and entered exactly as the server's own
 * (server/overlay-mode.ts), and closed when the session ends (its holder ends, the kernel unmounts;
 * a server crash leaves the same: no mount, and `workspace list` shows it orphaned). Making and
 * closing workspaces go through one bounded queue. Without per-session workspaces: the plain server.
 */
export function sessionServerFactory(deps: WardenDeps, opts: { concurrency?: number } = {}): (info: SessionInfo & { id: string }) => Promise<McpServer> {
  const overlay = deps.overlay;
  if (!overlay?.perSession) return async (info) => createWardenServer(deps, info);
  const slots = boundedQueue(opts.concurrency ?? DEFAULT_CONCURRENCY);
  const roots = overlay.roots.map((r) => r.path);
  return async (info) => {
    const name = `${overlay.workspace}-s${info.id.replace(/[^A-Za-z0-9]/g, "").slice(0, 12)}`;
    const handle = await slots.run(() => openWorkspace({ stateDir: overlay.state_dir, name, roots, driver: overlay.driver }));
    const holder = new RootHolder(mergedRootOpener(mergedRootsOf(handle, roots)));
    const unlist = deps.liveWorkspaces?.add(handle) ?? (() => {});
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      unlist();
      holder.close();
      void slots.run(() => handle.close()).catch((err: unknown) => deps.log(`closing workspace ${name}: ${(err as Error).message}`));
    };
    try {
      const rehold = (r: EffectiveRoot): EffectiveRoot => ({ ...r, held: holder.hold(r.path) });
      const facts: OverlayFacts = { ...overlay, workspace: handle.name, holder_pid: handle.holderPid, roots: handle.merged.map((m) => ({ path: m.root, upper: m.upperDir })) };
      const sessionDeps: WardenDeps = {
        ...deps,
        configuredRoots: deps.configuredRoots.map(rehold),
        fallbackRoot: rehold(deps.fallbackRoot),
        rootHolder: holder,
        overlay: facts,
        services: { ...deps.services, server: { ...(deps.services.server as object), workspace: facts } },
      };
      // The session's roots are a new view: their filesystem.deny check starts now, not with its first command.
      commandBridge(deps.services)?.warm(sessionDeps.configuredRoots).catch((err: Error) => deps.log(`workspace ${name}: filesystem.deny check: ${err.message}`));
      const server = createWardenServer(sessionDeps, info);
      const previous = server.server.onclose;
      server.server.onclose = () => {
        previous?.();
        release();
      };
      deps.log(`mcp session ${info.id}: copy-on-write workspace ${handle.name} (holder pid ${handle.holderPid})`);
      return server;
    } catch (err) {
      release();
      throw err;
    }
  };
}

/** At most `limit` tasks at once; the others wait their turn in order. */
function boundedQueue(limit: number): { run<T>(task: () => Promise<T>): Promise<T> } {
  let active = 0;
  const waiting: (() => void)[] = [];
  return {
    async run<T>(task: () => Promise<T>): Promise<T> {
      // A finishing task hands its place straight to the next waiter, so none can slip in between.
      if (active >= limit) await new Promise<void>((res) => waiting.push(res));
      else active++;
      try {
        return await task();
      } finally {
        const next = waiting.shift();
        if (next) next();
        else active--;
      }
    },
  };
}
