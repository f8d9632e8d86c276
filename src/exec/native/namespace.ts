import { ExecRefusal } from "../errors.js";
import type { ExecRequest } from "../types.js";
import { processStartTime } from "../../workspace/proc.js";

/** Rule of a refusal because the workspace whose namespace commands run in is gone. */
export const WORKSPACE_GONE_RULE = "workspace.gone";

/** The copy-on-write workspace's namespace a command enters (serve --overlay). */
export interface WorkspaceNamespace {
  /** The nsenter prefix that runs a program inside it. */
  enter: string[];
  /** Names the holder for the life of the machine (pid and start time): a launcher made for one serves no other. */
  key: string;
  /** Whether the holder still runs (its namespace, and the merged views, with it). */
  alive(): boolean;
}

/**
 * serve --overlay: roots held in a copy-on-write workspace's merged view (`held.via` =
 * `/proc/<holder>/root`) are bound from inside that workspace's namespace, where their paths (pins,
 * masks, the working directory) lead to the merged view: bubblewrap starts under nsenter into it
 * (or in a launcher that entered it ahead of time, zygote.ts). The plan's walk and the gate then
 * check every mount against the merged directories; a holder that is gone refuses the command
 * here, so nothing falls back to the real tree. Null for roots held in this process's own namespace.
 */
export function workspaceNamespace(roots: ExecRequest["roots"], findNsenter: () => string | null): WorkspaceNamespace | null {
  const vias = [...new Set(roots.flatMap((r) => (r.held?.via !== undefined ? [r.held.via] : [])))];
  if (vias.length === 0) return null;
  const pid = vias.length === 1 ? /^\/proc\/(\d+)\/root$/.exec(vias[0]!)?.[1] : undefined;
  if (pid === undefined) throw new ExecRefusal(WORKSPACE_GONE_RULE, `the roots are held in more than one namespace or an unknown one (${vias.join(", ")}); nothing ran`);
  const start = processStartTime(Number(pid));
  if (start === null) throw new ExecRefusal(WORKSPACE_GONE_RULE, `the copy-on-write workspace's holder (pid ${pid}) is gone, and its view with it; no command runs outside the view: restart the server (the workspace keeps its changes)`);
  const nsenter = findNsenter();
  if (!nsenter) throw new ExecRefusal(WORKSPACE_GONE_RULE, "nsenter (util-linux) is missing, so no command can enter the copy-on-write workspace; install util-linux");
  const asRoot = process.geteuid?.() === 0;
  return {
    enter: [nsenter, `--target=${pid}`, ...(asRoot ? ["--mount"] : ["--user", "--mount", "--preserve-credentials"]), "--"],
    key: `${pid}@${start}`,
    alive: () => processStartTime(Number(pid)) === start,
  };
}
