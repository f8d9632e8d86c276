import type Docker from "dockerode";
import { OWNER_HOST_LABEL, OWNER_PID_LABEL, SESSION_LABEL } from "./container-spec.js";
import { pidExists } from "../../audit/pid-exists.js";

/**
 * Removes containers a crashed warden left behind: labelled with our session label, created on
 * this host, by a pid that no longer exists. Containers of live servers and of other hosts sharing
 * the engine are left alone. Returns the ids removed.
 */
export async function removeStaleContainers(docker: Docker, hostname: string): Promise<string[]> {
  const list = await docker.listContainers({ all: true, filters: JSON.stringify({ label: [SESSION_LABEL] }) });
  const removed: string[] = [];
  for (const info of list) {
    const pid = Number(info.Labels?.[OWNER_PID_LABEL]);
    if (info.Labels?.[OWNER_HOST_LABEL] !== hostname || !Number.isInteger(pid) || pid <= 0 || pidExists(pid)) continue;
    try {
      await docker.getContainer(info.Id).remove({ force: true });
      removed.push(info.Id);
    } catch (err) {
      if ((err as { statusCode?: number }).statusCode !== 404) throw err;
    }
  }
  return removed;
}
