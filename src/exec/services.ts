import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { AuditSink } from "../audit/types.js";
import type { EffectiveRoot } from "../policy/roots.js";
import type { Policy } from "../policy/schema/index.js";
import { createCommandBridge, type CommandBridgeOptions } from "./bridge.js";
import type { DecideCommand } from "./command-policy.js";
import { createNativeBackend } from "./native/index.js";
import { createProcessRegistry, type ProcessRegistry } from "./process-registry.js";
import type { CommandBridge, ExecBackend } from "./types.js";

/** Keys under which the exec layer lives in ToolContext.services. */
export const COMMANDS_SERVICE = "commands";
export const PROCESSES_SERVICE = "processes";

type Services = Record<string, unknown>;

/** The command bridge of this server, or undefined when commands are disabled. */
export function commandBridge(services: Services): CommandBridge | undefined {
  return services[COMMANDS_SERVICE] as CommandBridge | undefined;
}

/** The background process registry of this server, or undefined. */
export function processRegistry(services: Services): ProcessRegistry | undefined {
  return services[PROCESSES_SERVICE] as ProcessRegistry | undefined;
}

export interface ExecServicesOptions {
  policy: Policy;
  audit: AuditSink;
  /** Effective roots for callers that do not pass their own (REST API, host agent). */
  roots: () => Promise<EffectiveRoot[]>;
  extraAllowed?: string[];
  privileged?: boolean;
  /** The selected backend; default: native with policy.execution.confinement. */
  backend?: ExecBackend;
  decide?: DecideCommand;
  redact?: (args: Record<string, unknown>) => Record<string, unknown>;
  serverEnv?: NodeJS.ProcessEnv;
  /** serve --overlay: see CommandBridgeOptions.enterWorkspace. */
  enterWorkspace?: CommandBridgeOptions["enterWorkspace"];
}

export interface ExecServices {
  commands: CommandBridge;
  processes: ProcessRegistry;
  /** Kills background processes and closes the backend. */
  close(): Promise<void>;
}

/**
 * Builds the bridge and the process registry for one server. Put the result into
 * `services[COMMANDS_SERVICE]` / `services[PROCESSES_SERVICE]` and call close() at exit.
 */
export function createExecServices(opts: ExecServicesOptions): ExecServices {
  const e = opts.policy.execution;
  const backend = opts.backend ?? createNativeBackend({ confinement: e.confinement });
  // Unconfined native commands still get an empty HOME of their own, not the server's.
  const home = backend.name === "native" && backend.describe().confinement === "none" ? mkdtempSync(join(tmpdir(), "warden-home-")) : undefined;
  const processes = createProcessRegistry({ maxAlive: e.max_background, retainBytes: e.background_output_bytes, readMaxBytes: e.output_cap_bytes });
  const commands = createCommandBridge({ ...opts, backend, processes, home });
  return { commands, processes, close: () => commands.close() };
}
