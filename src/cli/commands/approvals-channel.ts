import type { WardenDeps } from "../../server/deps.js";
import { resolveToken, startApprovalsServer } from "../../server/http/index.js";

/** `warden serve --approvals-port N` (stdio): opens the operator's door and says where it is. */
export async function startApprovalsChannel(deps: WardenDeps, port: number, tokenFile: string | undefined): Promise<void> {
  if (!deps.approvals) return;
  try {
    const channel = await startApprovalsServer(deps.approvals, { port, token: resolveToken(tokenFile, deps.options.env) });
    deps.log(`approvals: ${channel.url}/api/v1/approvals (warden approvals list --url ${channel.url})`);
  } catch (err) {
    await deps.close();
    throw err;
  }
}
