import { createWardenServer } from "../../server/create-server.js";
import type { WardenDeps } from "../../server/deps.js";
import { InFlightTransport } from "../../server/in-flight-transport.js";
import { StdioTransport } from "../../server/stdio-transport.js";

/** Extra time beyond the longest call the policy allows, for the reply to be written. */
const DRAIN_MARGIN_MS = 5_000;

/**
 * `warden serve` over stdio. When the client's input ends, requests already received are still
 * answered: the server waits for them (at most as long as the policy lets one call run, plus a
 * margin), then exits 0. SIGINT and SIGTERM stop at once.
 */
export async function serveStdio(deps: WardenDeps): Promise<void> {
  const server = createWardenServer(deps);
  const transport = new InFlightTransport(new StdioTransport());
  let closing = false;
  const shutdown = async (code: number) => {
    if (closing) return;
    closing = true;
    await server.close().catch(() => {});
    await deps.close();
    process.exit(code);
  };
  const endOfInput = async () => {
    if (transport.inFlight > 0) {
      const limitMs = Math.max(deps.policy.execution.max_timeout_s * 1000, deps.policy.filesystem.tool_timeout_ms) + DRAIN_MARGIN_MS;
      deps.log(`input ended: answering ${transport.inFlight} request(s) still running (at most ${Math.round(limitMs / 1000)} s), then exiting`);
      if (!(await transport.drained(limitMs))) deps.log(`input ended: ${transport.inFlight} request(s) still running after ${Math.round(limitMs / 1000)} s: cancelled`);
    }
    await shutdown(0);
  };
  transport.onclose = () => void shutdown(0);
  process.stdin.on("end", () => void endOfInput());
  process.on("SIGINT", () => void shutdown(130));
  process.on("SIGTERM", () => void shutdown(143));
  await server.connect(transport);
}
