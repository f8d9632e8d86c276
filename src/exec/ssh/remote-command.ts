import type { ExecRequest } from "../types.js";
import { isEnvName, shellJoin, shellQuote } from "../shell-quote.js";

/** The first stderr line of every remote command: the pid of its process group (see buildRemoteCommand). */
export const PID_MARKER = "warden-pid:";

/**
 * The command line sent to the remote login shell (`$SHELL -c`, a POSIX shell). sshd makes that
 * shell a session and process-group leader, so its pid (reported on the first stderr line, then
 * stripped) names the group a timeout kills. It changes to the confined working directory (and
 * refuses with 126 unless that is physically the canonical directory the bridge resolved, so a
 * directory swapped for a symlink since then is not followed) and replaces itself with the command
 * under `env -i`: exactly the request's environment, nothing from the remote user's profile.
 */
export function buildRemoteCommand(request: Pick<ExecRequest, "argv" | "script" | "cwd" | "env">): string {
  const env = Object.entries(request.env)
    .filter(([k]) => isEnvName(k))
    .map(([k, v]) => shellQuote(`${k}=${v}`));
  const argv = request.script !== undefined ? [request.argv[0]!, "-c", request.script] : request.argv;
  return [
    `cd -P -- ${shellQuote(request.cwd)} && [ "$PWD" = ${shellQuote(request.cwd)} ] || exit 126`,
    `printf '${PID_MARKER}%s\\n' "$$" >&2`,
    `exec env -i ${env.join(" ")}${env.length ? " " : ""}${shellJoin(argv)}`,
  ].join("\n");
}

/** Kills the process group `pid` on the remote host (TERM or KILL); builtins only. */
export function buildKillCommand(pid: number, signal: string): string {
  const sig = signal.replace(/^SIG/, "");
  if (!/^[A-Z0-9]+$/.test(sig)) throw new Error(`bad signal ${signal}`);
  return `kill -${sig} -${pid} 2>/dev/null || kill -${sig} ${pid} 2>/dev/null; exit 0`;
}
