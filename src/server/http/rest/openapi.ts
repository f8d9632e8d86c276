import { z } from "zod";
import { opsOpenApiPaths } from "./ops-openapi.js";
import { executeRequestSchema } from "./execute.js";
import { workspacesOpenApiPaths } from "./workspaces.js";

const errorSchema = {
  type: "object",
  required: ["error"],
  properties: {
    error: {
      type: "object",
      required: ["code", "message"],
      properties: {
        code: { type: "string", description: "Stable machine-readable code, e.g. unauthorized, denied, payload_too_large." },
        message: { type: "string" },
        rule: { type: "string", description: "The policy rule that denied the request (403 denied only)." },
      },
    },
  },
} as const;

const errorResponse = (description: string) => ({ description, content: { "application/json": { schema: { $ref: "#/components/schemas/Error" } } } });

/** The OpenAPI 3.1 document of the REST API (served at /api/v1/openapi.json). */
export function openApiDocument(version: string, serverUrl: string): Record<string, unknown> {
  const executeRequest = z.toJSONSchema(executeRequestSchema, { target: "draft-2020-12", io: "input" }) as Record<string, unknown>;
  delete executeRequest.$schema;
  return {
    openapi: "3.1.0",
    info: {
      title: "mcp-warden REST API",
      version,
      description:
        "The REST side of `warden serve --http`. MCP clients use Streamable HTTP at /mcp instead. Every route except /health needs `Authorization: Bearer <token>` when the server has a token.",
    },
    servers: [{ url: serverUrl }],
    components: {
      securitySchemes: { bearer: { type: "http", scheme: "bearer" } },
      schemas: {
        Error: errorSchema,
        ExecuteRequest: executeRequest,
        ExecuteResult: {
          type: "object",
          required: ["exit_code", "stdout", "stderr", "timed_out", "truncated", "duration_ms"],
          properties: {
            exit_code: { type: ["integer", "null"], description: "null when the command was killed by a signal" },
            signal: { type: "string" },
            stdout: { type: "string" },
            stderr: { type: "string" },
            timed_out: { type: "boolean" },
            truncated: { type: "boolean", description: "output was over the policy's cap; head and tail kept" },
            duration_ms: { type: "number" },
            audit_error: { type: "string", description: "present when the command ran but its outcome could not be recorded (the audit log holds its intent alone)" },
          },
        },
        Health: {
          type: "object",
          required: ["status", "version", "backend", "uptime_s"],
          properties: {
            status: { type: "string", enum: ["ok", "shutting_down"] },
            version: { type: "string" },
            backend: { type: "string" },
            uptime_s: { type: "integer" },
            cluster: {
              type: "object",
              description: "Cluster backends (slurm): the cluster and each live session's job and node (no session ids).",
              properties: {
                cluster: { type: "string" },
                jobs: { type: "array", items: { type: "object", properties: { cluster: { type: "string" }, job: { type: "string" }, step: { type: "string" }, node: { type: "string" } } } },
              },
            },
          },
        },
        SystemInfo: { type: "object", description: "The get_system_info result: os, arch, cpus, memory, node, backend, confinement, roots, policy summary." },
      },
    },
    security: [{ bearer: [] }],
    paths: {
      "/health": {
        get: {
          summary: "Liveness: status, version, backend, uptime. No authentication, no secrets.",
          security: [],
          responses: {
            "200": { description: "serving", content: { "application/json": { schema: { $ref: "#/components/schemas/Health" } } } },
            "503": { description: "shutting down", content: { "application/json": { schema: { $ref: "#/components/schemas/Health" } } } },
          },
        },
      },
      "/api/v1/execute": {
        post: {
          summary: "Run a command through the same policy, limits and audit as the execute_command tool (audited as api.execute).",
          requestBody: { required: true, content: { "application/json": { schema: { $ref: "#/components/schemas/ExecuteRequest" } } } },
          responses: {
            "200": { description: "the command ran (any exit code)", content: { "application/json": { schema: { $ref: "#/components/schemas/ExecuteResult" } } } },
            "400": errorResponse("malformed body"),
            "401": errorResponse("missing or wrong bearer token"),
            "403": errorResponse("denied by policy (error.rule names the rule), or a forbidden Host/Origin"),
            "413": errorResponse("body too large"),
            "429": errorResponse("too many concurrent requests from this client, or execution.max_concurrent_commands commands already run (error.code busy)"),
            "502": errorResponse("the execution backend failed"),
            "503": errorResponse("commands unavailable, the audit log cannot record the call (error.code audit_unavailable: nothing ran), or the server is shutting down"),
          },
        },
      },
      "/api/v1/system/info": {
        get: {
          summary: "The get_system_info result for the configured roots.",
          responses: {
            "200": { description: "facts", content: { "application/json": { schema: { $ref: "#/components/schemas/SystemInfo" } } } },
            "401": errorResponse("missing or wrong bearer token"),
          },
        },
      },
      "/api/v1/openapi.json": {
        get: { summary: "This document.", responses: { "200": { description: "OpenAPI 3.1 document" } } },
      },
      ...workspacesOpenApiPaths(errorResponse),
      "/api/v1/approvals": {
        get: {
          summary: "Calls an ask rule holds for a human (the operator queue); ?all=1 adds the recently answered. Token always required.",
          responses: { "200": { description: "{pending, approvals: [{id, state, created_at, tool, rule, question, binding}]}" }, "400": errorResponse("malformed filter"), "401": errorResponse("missing or wrong bearer token"), "403": errorResponse("the server has no token, so it answers no approvals") },
        },
      },
      "/api/v1/approvals/{id}": {
        post: {
          summary: 'Answer one waiting call with {"decision": "approve" | "deny"}; it runs at most once.',
          parameters: [{ name: "id", in: "path", required: true, schema: { type: "string", pattern: "^[0-9a-f]{16}$" } }],
          requestBody: { required: true, content: { "application/json": { schema: { type: "object", properties: { decision: { enum: ["approve", "deny"] } }, required: ["decision"], additionalProperties: false } } } },
          responses: {
            "200": { description: "{approval} as answered" },
            "400": errorResponse("a body other than {decision}"),
            "401": errorResponse("missing or wrong bearer token"),
            "404": errorResponse("unknown approval id"),
            "409": errorResponse("already answered"),
            "410": errorResponse("expired (the call was denied) or cancelled by the client"),
          },
        },
      },
      ...opsOpenApiPaths(errorResponse),
    },
  };
}
