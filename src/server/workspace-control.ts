import { chmodSync, closeSync, constants, openSync, unlinkSync } from "node:fs";
import { createConnection, createServer, type Server, type Socket } from "node:net";
import { z } from "zod";
import { WorkspaceError } from "../workspace/index.js";

/**
 * The control socket of a live workspace: `control.sock` in the workspace's directory (in the state
 * dir, which no root and no command's view reaches: config/audit-files.ts `exposedStateDir`), owner
 * only. `warden workspace checkpoint NAME` on a workspace a server holds live asks that server
 * through it, so a stdio server (OpenCode's) can be checkpointed mid-run, not only one with --http.
 * One request per connection: a JSON line in, a JSON line out. Both ends are here, so the protocol
 * lives in one place. The socket is bound and reached through `/proc/self/fd/N/control.sock` on
 * the directory held open, so neither a long state dir path (sun_path holds 107 bytes) nor a renamed
 * component on the way matters.
 */
export const CONTROL_SOCKET = "control.sock";

const request = z.object({ op: z.literal("checkpoint"), label: z.string().min(1).max(200).optional() }).strict();
export type ControlRequest = z.infer<typeof request>;

/** `code`: `refused` (the workspace is busy: a command runs), `not_found`, `invalid_request` (a bad label or request), `audit_unavailable`, `internal`. */
export type ControlReply = { ok: true; label: string; id: string; created: string } | { ok: false; code: string; message: string };

const MAX_REQUEST = 4096;
const IDLE_MS = 10_000;

const OPEN_DIR = constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW;

/** Listens on `dir`/control.sock; `handle` answers each request. The result stops listening and removes the socket. */
export async function serveWorkspaceControl(dir: string, handle: (req: ControlRequest) => Promise<ControlReply>, log: (line: string) => void): Promise<() => void> {
  const fd = openSync(dir, OPEN_DIR);
  const path = `/proc/self/fd/${fd}/${CONTROL_SOCKET}`;
  const server: Server = createServer((socket) => answer(socket, handle, log));
  try {
    // A socket left by a server that died (kill -9) is stale: this process holds the workspace now.
    try {
      unlinkSync(path);
    } catch {
      // none
    }
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(path, () => resolve());
    });
    chmodSync(path, 0o600);
  } catch (err) {
    server.close();
    closeSync(fd);
    throw err;
  }
  server.on("error", (err) => log(`workspace control socket in ${dir}: ${err.message}`));
  return () => {
    server.close();
    try {
      unlinkSync(path);
    } catch {
      // gone with its directory (discarded)
    }
    closeSync(fd);
  };
}

function answer(socket: Socket, handle: (req: ControlRequest) => Promise<ControlReply>, log: (line: string) => void): void {
  let buf = "";
  let done = false;
  const reply = (r: ControlReply) => {
    done = true;
    socket.end(`${JSON.stringify(r)}\n`);
  };
  socket.setEncoding("utf8");
  socket.setTimeout(IDLE_MS, () => socket.destroy());
  socket.on("error", () => {});
  socket.on("data", (chunk: string) => {
    if (done) return;
    buf += chunk;
    const nl = buf.indexOf("\n");
    if (nl < 0) {
      if (buf.length > MAX_REQUEST) reply({ ok: false, code: "invalid_request", message: `a request is one JSON line of at most ${MAX_REQUEST} bytes` });
      return;
    }
    done = true;
    let parsed: z.ZodSafeParseResult<ControlRequest>;
    try {
      parsed = request.safeParse(JSON.parse(buf.slice(0, nl)));
    } catch {
      return reply({ ok: false, code: "invalid_request", message: 'a request is one JSON line, e.g. {"op":"checkpoint","label":"L"}' });
    }
    if (!parsed.success) return reply({ ok: false, code: "invalid_request", message: `bad request: ${parsed.error.issues.map((i) => `${i.path.join(".") || "(request)"}: ${i.message}`).join("; ")}` });
    socket.setTimeout(0); // a checkpoint takes as long as its copy
    handle(parsed.data).then(reply, (err: Error) => {
      log(`workspace control: ${err.stack ?? err.message}`);
      reply({ ok: false, code: "internal", message: err.message });
    });
  });
}

/**
 * Asks the server holding the workspace in `dir` (the CLI's side). Null when no server listens there
 * (none holds it, or one older than the control socket): the caller says what to do instead.
 */
export async function askWorkspaceControl(dir: string, req: ControlRequest): Promise<ControlReply | null> {
  let fd: number;
  try {
    fd = openSync(dir, OPEN_DIR);
  } catch {
    return null;
  }
  try {
    return await new Promise<ControlReply | null>((resolve, reject) => {
      const socket = createConnection(`/proc/self/fd/${fd}/${CONTROL_SOCKET}`);
      let buf = "";
      socket.setEncoding("utf8");
      socket.on("connect", () => socket.write(`${JSON.stringify(req)}\n`));
      socket.on("data", (chunk: string) => (buf += chunk));
      socket.on("end", () => {
        try {
          resolve(JSON.parse(buf) as ControlReply);
        } catch {
          reject(new Error(`the server holding the workspace answered ${JSON.stringify(buf.slice(0, 200))}, not a reply`));
        }
      });
      socket.on("error", (err: NodeJS.ErrnoException) => (err.code === "ENOENT" || err.code === "ECONNREFUSED" ? resolve(null) : reject(err)));
    });
  } finally {
    closeSync(fd);
  }
}

/** The reply for an operation that threw: the engine's refusals by their code, anything else as internal. */
export function controlFailure(err: unknown): ControlReply & { ok: false } {
  if (err instanceof ControlError) return { ok: false, code: err.code, message: err.message };
  if (err instanceof WorkspaceError) return { ok: false, code: err.code ?? (err.kind === "usage" ? "invalid_request" : "refused"), message: err.message };
  return { ok: false, code: "internal", message: (err as Error).message };
}

/** A refusal of the control socket's own (the audit log could not take the intent). */
export class ControlError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}
