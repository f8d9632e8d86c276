import type { Command } from "commander";
import { buildDeps, type ServeOptions } from "../../server/deps.js";
import { rootsSummary } from "../../server/startup-line.js";
import type { ClientRootsMode } from "../../policy/roots.js";
import { overlaySummary } from "../../server/overlay-mode.js";
import { clientRootsOption, collect, integerIn, UsageError } from "../options.js";

interface ServeFlags {
  root: string[];
  readOnly: string[];
  policy?: string;
  allow: string[];
  backend?: string;
  auditLog?: string;
  dangerouslySkipPolicy?: boolean;
  workers?: number;
  clientRoots?: ClientRootsMode;
  http?: boolean;
  host?: string;
  port: number;
  tokenFile?: string;
  metricsPort?: number;
  approvalsPort?: number;
  overlay?: boolean;
  workspace?: string;
  stateDir?: string;
  overlayDriver?: string;
  workspacePerSession?: boolean;
}

/** `warden serve`: MCP over stdio (default) or Streamable HTTP (--http). */
export function registerServeCommand(program: Command): void {
  program
    .command("serve")
    .description("run the MCP server (stdio by default)")
    .option("--root <dir>", "read-write root (repeatable)", collect, [])
    .option("--read-only <dir>", "read-only root (repeatable)", collect, [])
    .option("--policy <file>", "JSON policy (default: policies/default.json, or WARDEN_POLICY)")
    .option("--allow <program>", "execute_command may run PROGRAM; with any --allow every other program is denied (repeatable)", collect, [])
    .option("--backend <name>", "native | docker | ssh | host-agent | slurm (EXECUTION_MODE also accepted)")
    .option("--audit-log <file>", "keyed, hash-chained JSONL audit log (key and head beside it): changes recorded before they happen")
    .option("--dangerously-skip-policy", "privileged mode: no command policy checks (still audited)")
    .option("--workers <n>", "WASI worker threads (default 2)", integerIn(1, 256))
    .addOption(clientRootsOption())
    .option("--http", "serve MCP Streamable HTTP at /mcp plus the REST API")
    .option("--host <host>", "HTTP bind address", "127.0.0.1")
    .option("--port <port>", "HTTP port (0: any free port)", integerIn(0, 65535), 8000)
    .option("--token-file <file>", "bearer token for HTTP (or WARDEN_TOKEN)")
    .option("--metrics-port <port>", "stdio mode: serve Prometheus /metrics and /ready on 127.0.0.1:PORT", integerIn(0, 65535))
    .option("--approvals-port <port>", "stdio mode: the approvals API (operator queue) on 127.0.0.1:PORT, token required (0: any free port)", integerIn(0, 65535))
    .option("--overlay", "copy-on-write: every writable root becomes a view kept in a workspace; the real tree is never modified")
    .option("--workspace <name>", "the workspace for --overlay (default: a fresh name, printed at start); an existing one is re-opened")
    .option("--state-dir <dir>", "where workspaces live (default $XDG_STATE_HOME/mcp-warden)")
    .option("--overlay-driver <driver>", "auto | kernel | fuse | copy (default: the policy's workspace.driver, else auto: kernel, then fuse, then copy)")
    .option("--workspace-per-session", "with --http: every MCP session gets its own copy-on-write workspace (implies --overlay)")
    .action(async (flags: ServeFlags) => {
      const log = (message: string) => process.stderr.write(`warden: ${message}\n`);
      const options: ServeOptions = {
        roots: flags.root,
        readOnly: flags.readOnly,
        ...(flags.policy ? { policyPath: flags.policy } : {}),
        allow: flags.allow,
        ...(flags.backend ? { backend: flags.backend } : {}),
        ...(flags.auditLog ? { auditLog: flags.auditLog } : {}),
        privileged: flags.dangerouslySkipPolicy === true,
        ...(flags.workers !== undefined ? { workers: flags.workers } : {}),
        ...(flags.clientRoots ? { clientRoots: flags.clientRoots } : {}),
        cwd: process.cwd(),
        env: process.env,
        log,
        ...(flags.overlay || flags.workspace || flags.stateDir || flags.overlayDriver || flags.workspacePerSession
          ? { overlay: { overlay: flags.overlay === true, ...(flags.workspacePerSession ? { perSession: true } : {}), ...(flags.workspace ? { workspace: flags.workspace } : {}), ...(flags.stateDir ? { stateDir: flags.stateDir } : {}), ...(flags.overlayDriver ? { driver: flags.overlayDriver } : {}) } }
          : {}),
      };
      if (flags.workspacePerSession && !flags.http) throw new UsageError("--workspace-per-session needs --http (over stdio there is one session: use --overlay)");
      const deps = await buildDeps(options).catch((err: unknown) => {
        // A bad --workspace, --state-dir or driver is a usage error (exit 2), as for the workspace commands.
        throw (err as { kind?: string }).kind === "usage" ? new UsageError((err as Error).message) : err;
      });
      if (deps.overlay) log(overlaySummary(deps.overlay));
      if (flags.http) {
        const { serveHttp } = await import("./serve-http.js");
        await serveHttp(deps, { host: flags.host ?? "127.0.0.1", port: flags.port, ...(flags.tokenFile ? { tokenFile: flags.tokenFile } : {}) });
        return;
      }
      if (flags.metricsPort !== undefined) {
        const { serveMetrics } = await import("../../server/http/metrics/serve-metrics.js");
        const metrics = await serveMetrics(deps, flags.metricsPort);
        log(`metrics at ${metrics.url}/metrics`);
      }
      if (flags.approvalsPort !== undefined) {
        const { startApprovalsChannel } = await import("./approvals-channel.js");
        await startApprovalsChannel(deps, flags.approvalsPort, flags.tokenFile);
      }
      const { serveStdio } = await import("./serve-stdio.js");
      await serveStdio(deps);
      log(`mcp-warden ${deps.version} on stdio; ${rootsSummary(deps)}`);
    });
}
