import type { ToolAnnotations } from "@modelcontextprotocol/sdk/types.js";
import type { z } from "zod";
import type { Policy } from "../policy/schema/index.js";
import type { Sandbox } from "../sandbox/types.js";
import type { EffectiveRoot, RootsState } from "../policy/roots.js";

/**
 * What a tool handler may use. Built per call by the server from explicit dependencies, so two
 * servers in one process never share state.
 */
export interface ToolContext {
  /** Effective roots for this call (configured roots narrowed by the client's MCP roots). */
  roots(): Promise<EffectiveRoot[]>;
  /** The same roots with where they came from and, when there are none, why (get_system_info). */
  rootsState?(): Promise<RootsState>;
  sandbox: Sandbox;
  policy: Policy;
  /** Services beyond the file tools (command bridge, process registry, system facts). */
  services: ToolServices;
  /** Sends an MCP progress notification when the client asked for them; a no-op otherwise. */
  progress(progress: number, message?: string, total?: number): Promise<void>;
  signal: AbortSignal;
  /** This MCP session's id (random); scopes per-session state such as background processes. */
  session: string;
  /** Who made the call, for audit records written below the tool layer (the command bridge). */
  caller?: Caller;
}

/** How a call arrived and from whom, as audit records name it. */
export interface Caller {
  transport: string;
  client: string;
  session: string | null;
  /** serve --overlay: the workspace the session works in. */
  workspace?: string;
}

/** Registry of optional services; each layer adds its own key without touching the others. */
export interface ToolServices {
  [name: string]: unknown;
}

/** Extra facts a tool reports for the audit record. */
export interface AuditFacts {
  exit_code?: number | null;
  bytes?: number;
  backend?: string;
  /** Overrides the rule recorded for an allowed call (default `allow`). */
  rule?: string;
}

/** One result shape for success and failure; the server turns it into a CallToolResult. */
export type ToolOutcome =
  | { ok: true; text: string; structured: Record<string, unknown>; audit?: AuditFacts }
  | { ok: false; rule: string; message: string; audit?: AuditFacts };

export interface ToolDefinition<In extends z.ZodRawShape = z.ZodRawShape> {
  name: string;
  title: string;
  description: string;
  inputSchema: In;
  outputSchema?: z.ZodRawShape;
  annotations: ToolAnnotations;
  /** True when the call is audited by a lower layer (the command bridge), so the server does not audit it twice. */
  selfAudited?: boolean;
  /**
   * Whether this call may change anything: then it is recorded before it runs (and refused when it
   * cannot be) and after. Default: every tool not annotated readOnlyHint.
   */
  changes?(args: z.infer<z.ZodObject<In>>): boolean;
  handler(args: z.infer<z.ZodObject<In>>, ctx: ToolContext): Promise<ToolOutcome>;
}

export const ok = (text: string, structured: Record<string, unknown>, audit?: AuditFacts): ToolOutcome => ({
  ok: true,
  text,
  structured,
  audit,
});

/** A denial or failure. `message` must never carry the content that was denied. */
export const fail = (rule: string, message: string, audit?: AuditFacts): ToolOutcome => ({ ok: false, rule, message, audit });

/** Helper so each tool file gets its argument types inferred from its schema. */
export function defineTool<In extends z.ZodRawShape>(def: ToolDefinition<In>): ToolDefinition<In> {
  return def;
}
