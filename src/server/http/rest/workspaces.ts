import type { IncomingMessage, ServerResponse } from "node:http";
import { z } from "zod";
import {
  applyWorkspace,
  checkpointWorkspace,
  describeWorkspace,
  diffWorkspace,
  discardWorkspace,
  forkWorkspace,
  formatStat,
  gitPatch,
  listWorkspaces,
  onlyRoot,
  prepareStateDir,
  resetWorkspace,
  statLines,
  WorkspaceError,
  wsDirOf,
  type WorkspaceDiff,
} from "../../../workspace/index.js";
import type { WardenDeps } from "../../deps.js";
import { auditedWorkspaceOp } from "../../workspace-audit.js";
import { HttpError, sendJson, type RequestContext } from "../respond.js";
import type { Route } from "../route-table.js";

const applyBody = z.object({ force: z.boolean().optional().describe("apply even over real changes made since (those are lost)") }).strict();
const checkpointBody = z.object({ label: z.string().min(1).optional().describe("the checkpoint's label (default checkpoint-N)") }).strict();
const forkBody = z.object({ new: z.string().min(1).describe("name of the new workspace"), from: z.string().min(1).optional().describe("start from this checkpoint") }).strict();
const resetBody = z.object({ to: z.string().min(1).optional().describe("the checkpoint to go back to (default the latest, or the start)") }).strict();
const diffFormats = ["json", "stat", "patch"] as const;

/**
 * The operator's workspace API (issue 12), the HTTP twin of `warden workspace`: list, diff, apply,
 * discard, checkpoint, fork, reset over the workspaces in the server's state dir. Never an MCP tool:
 * the agent does not manage its own workspace. Operations that change something (apply touches the
 * real tree) are audited as `api.workspace.<op>` with an intent before and an outcome after, and
 * refused when the audit log cannot take the intent.
 */
export function workspaceRoutes(deps: WardenDeps, stateDir: string): Record<string, Route> {
  const dir = { stateDir };
  return {
    "/api/v1/workspaces": { methods: ["GET"], handle: (_req, res) => sendJson(res, 200, { state_dir: stateDir, workspaces: engine(() => listWorkspaces(dir)) }) },
    "/api/v1/workspaces/{name}": {
      methods: ["GET", "DELETE"],
      handle: async (req, res, ctx) => {
        const { name } = ctx.params as { name: string };
        if (req.method === "GET") return sendJson(res, 200, engine(() => describeWorkspace({ ...dir, name })));
        await audited(deps, ctx, "discard", { name }, () => discardWorkspace({ ...dir, name }));
        sendJson(res, 200, { discarded: name });
      },
    },
    "/api/v1/workspaces/{name}/diff": {
      methods: ["GET"],
      handle: (_req, res, ctx) => {
        const { name } = ctx.params as { name: string };
        const format = ctx.url.searchParams.get("format") ?? "json";
        if (!(diffFormats as readonly string[]).includes(format)) throw new HttpError(400, "invalid_request", `format must be one of ${diffFormats.join(", ")} (got ${JSON.stringify(format)})`);
        const diff = engine(() => onlyRoot(diffWorkspace({ ...dir, name }), ctx.url.searchParams.get("root")));
        if (format === "json") return sendJson(res, 200, diffJson(diff));
        const several = diff.roots.length > 1;
        const parts = diff.roots.map((r) => {
          if (format === "stat") return formatStat(statLines(r.changes), several ? `${r.root}/` : "");
          const { patch, skipped } = gitPatch(r.changes);
          const notes = skipped.map((s) => `# not in the patch: ${r.root}/${s.path} (${s.reason})\n`).join("");
          return `${several ? `# root ${r.root}\n` : ""}${notes}${patch}`;
        });
        const text = parts.join("");
        res.writeHead(200, { "content-type": format === "patch" ? "text/x-diff; charset=utf-8" : "text/plain; charset=utf-8", "content-length": Buffer.byteLength(text) });
        res.end(text);
      },
    },
    "/api/v1/workspaces/{name}/apply": {
      methods: ["POST"],
      handle: async (_req, res, ctx, body) => {
        const { name } = ctx.params as { name: string };
        const { force } = parse(applyBody, body);
        const r = await audited(deps, ctx, "apply", { name, force: force === true }, () => applyWorkspace({ ...dir, name, force: force === true }));
        if (!r.applied) {
          throw new HttpError(409, "conflict", `refused: the real tree changed under ${r.conflicts.length} path(s) after workspace ${name} changed them; nothing was applied (send {"force": true} to overwrite them)`, {
            details: { conflicts: r.conflicts },
          });
        }
        sendJson(res, 200, { applied: true, operations: r.operations, resumed: r.resumed });
      },
    },
    "/api/v1/workspaces/{name}/checkpoints": {
      methods: ["POST"],
      handle: async (_req, res, ctx, body) => {
        const { name } = ctx.params as { name: string };
        const { label } = parse(checkpointBody, body);
        // A workspace this server holds live: a live checkpoint, a copy of its upper taken with it quiet (server/live-workspaces.ts).
        const live = deps.liveWorkspaces?.get(name, engine(() => wsDirOf(prepareStateDir(stateDir, false), name)));
        const take = live ? () => deps.liveWorkspaces!.checkpoint(live, label) : () => checkpointWorkspace({ ...dir, name, ...(label ? { label } : {}) });
        const r = await audited(deps, ctx, "checkpoint", { name, ...(label ? { label } : {}), ...(live ? { live: true } : {}) }, take);
        sendJson(res, 201, { name, label: r.label, id: r.id, live: live !== undefined });
      },
    },
    "/api/v1/workspaces/{name}/fork": {
      methods: ["POST"],
      handle: async (_req, res, ctx, body) => {
        const { name } = ctx.params as { name: string };
        const b = parse(forkBody, body);
        await audited(deps, ctx, "fork", { name, new: b.new, ...(b.from ? { from: b.from } : {}) }, () => forkWorkspace({ ...dir, name, newName: b.new, ...(b.from ? { from: b.from } : {}) }));
        sendJson(res, 201, { name: b.new, from: b.from ?? null, forked_from: name });
      },
    },
    "/api/v1/workspaces/{name}/reset": {
      methods: ["POST"],
      handle: async (_req, res, ctx, body) => {
        const { name } = ctx.params as { name: string };
        const { to } = parse(resetBody, body);
        const r = await audited(deps, ctx, "reset", { name, ...(to ? { to } : {}) }, () => resetWorkspace({ ...dir, name, ...(to ? { to } : {}) }));
        sendJson(res, 200, { name, to: r.to });
      },
    },
  };
}

/** Runs an engine call, turning its refusals into HTTP errors: unknown names 404, bad input 400, the world refusing 409. */
function engine<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    throw httpErrorOf(err);
  }
}

/** engine() for a call that completes later (a live checkpoint). */
async function engineLater<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw httpErrorOf(err);
  }
}

function httpErrorOf(err: unknown): unknown {
  if (!(err instanceof WorkspaceError)) return err;
  if (err.code === "not_found") return new HttpError(404, "not_found", err.message);
  if (err.kind === "usage") return new HttpError(400, "invalid_request", err.message);
  return new HttpError(409, "refused", err.message);
}

/** An operation that changes something, audited (server/workspace-audit.ts); the engine's refusals as HTTP errors. */
function audited<T>(deps: WardenDeps, ctx: RequestContext, op: string, args: Record<string, unknown>, fn: () => T | Promise<T>): Promise<T> {
  return auditedWorkspaceOp(deps, { client: `addr:${ctx.remote}` }, op, args, () => engineLater(async () => fn()), {
    // A 409 is the engine refusing (the workspace is in use, a command runs in it): a denial; bad input and failures are errors.
    failure: (err) => ({ decision: err instanceof HttpError && err.status === 409 ? "deny" : "error", rule: err instanceof HttpError ? `workspace.${err.code}` : "internal_error" }),
    unavailable: (reason, rule) => new HttpError(503, "audit_unavailable", `workspace ${op} was not carried out: ${reason}`, { details: { rule } }),
  });
}

function parse<T>(schema: z.ZodType<T>, body: unknown): T {
  const parsed = schema.safeParse(body ?? {});
  if (parsed.success) return parsed.data;
  const issues = parsed.error.issues.map((i) => `${i.path.join(".") || "(body)"}: ${i.message}`);
  throw new HttpError(400, "invalid_request", `invalid request body: ${issues.join("; ")}`, { details: { issues } });
}


function diffJson(diff: WorkspaceDiff): unknown {
  const info = (e: { kind: string; mode: number; size: number } | undefined) => e && { kind: e.kind, mode: e.mode, size: e.size };
  return {
    name: diff.name,
    roots: diff.roots.map((r) => ({ root: r.root, changes: r.changes.map((c) => ({ path: c.path, status: c.status, old: info(c.old) ?? null, new: info(c.new) ?? null })) })),
  };
}

/** The routes' entries in /api/v1/openapi.json. */
export function workspacesOpenApiPaths(errorResponse: (description: string) => unknown): Record<string, unknown> {
  const json = (description: string) => ({ description, content: { "application/json": { schema: { type: "object" } } } });
  const body = (schema: z.ZodType) => {
    const s = z.toJSONSchema(schema, { target: "draft-2020-12", io: "input" }) as Record<string, unknown>;
    delete s.$schema;
    return { required: false, content: { "application/json": { schema: s } } };
  };
  const common = { "401": errorResponse("missing or wrong bearer token"), "404": errorResponse("no workspace (or checkpoint) by that name"), "400": errorResponse("invalid name, label or body") };
  const changes = { "409": errorResponse("the engine refused: the workspace is in use, or (apply) the real tree changed underneath (error.conflicts lists the paths)"), "503": errorResponse("the audit log cannot record the operation: nothing was done") };
  const name = [{ name: "name", in: "path", required: true, schema: { type: "string" } }];
  return {
    "/api/v1/workspaces": { get: { summary: "Every workspace in the server's state dir: name, state (live, orphaned, closed), roots, created, size of changes, checkpoints.", responses: { "200": json("the list"), "401": common["401"] } } },
    "/api/v1/workspaces/{name}": {
      parameters: name,
      get: { summary: "One workspace's summary.", responses: { "200": json("the summary"), ...common } },
      delete: { summary: "Discard a workspace and its layers (the real tree is not touched). Audited as api.workspace.discard.", responses: { "200": json("discarded"), ...common, ...changes } },
    },
    "/api/v1/workspaces/{name}/diff": {
      parameters: [...name, { name: "format", in: "query", schema: { type: "string", enum: diffFormats } }, { name: "root", in: "query", schema: { type: "string" } }],
      get: { summary: "What the workspace changed against the real tree: a change list (json), a git diff --stat (stat), or a patch `git apply` takes on the original tree (patch).", responses: { "200": json("the diff"), ...common } },
    },
    "/api/v1/workspaces/{name}/apply": {
      parameters: name,
      post: { summary: "Bring the workspace's changes onto the real tree; refused (409, listing the paths) when real files changed underneath. Audited as api.workspace.apply.", requestBody: body(applyBody), responses: { "200": json("applied"), ...common, ...changes } },
    },
    "/api/v1/workspaces/{name}/checkpoints": {
      parameters: name,
      post: {
        summary:
          "Freeze the current state under a label. A closed workspace: its upper layer is frozen (no copy). A workspace this server holds live: a live checkpoint, a copy of its upper layer taken while commands and writes are held off (409 while a command or background process runs in it). Audited.",
        requestBody: body(checkpointBody),
        responses: { "201": json("the checkpoint ({name, label, id, live})"), ...common, ...changes },
      },
    },
    "/api/v1/workspaces/{name}/fork": {
      parameters: name,
      post: { summary: "A new workspace from this one's current state or a checkpoint. Audited.", requestBody: body(forkBody), responses: { "201": json("the new workspace"), ...common, ...changes } },
    },
    "/api/v1/workspaces/{name}/reset": {
      parameters: name,
      post: { summary: "Drop changes made since a checkpoint (default the latest, or the start). Audited.", requestBody: body(resetBody), responses: { "200": json("reset"), ...common, ...changes } },
    },
  };
}
