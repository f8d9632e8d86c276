import type { Command } from "commander";
import type { QueuedApproval } from "../../approvals/queue.js";
import { resolveToken } from "../../server/http/options.js";
import { UsageError } from "../options.js";

interface ApprovalsFlags {
  url?: string;
  tokenFile?: string;
  json?: boolean;
  all?: boolean;
}

/**
 * `warden approvals list|approve ID|deny ID`: the operator's queue, over the server's REST API
 * (`serve --http`, or `serve --approvals-port` in stdio mode) with the bearer token. Exit 0 done,
 * 1 refused (unknown id, already answered, expired, unreachable), 2 usage error.
 */
export function registerApprovalsCommand(program: Command): void {
  const approvals = program.command("approvals").description("calls waiting for a human (commands.ask, filesystem.ask)");
  const common = (c: Command) =>
    c
      .option("--url <url>", "the server (default: WARDEN_URL, else http://127.0.0.1:8000)")
      .option("--token-file <file>", "bearer token (or WARDEN_TOKEN)")
      .option("--json", "print JSON");
  common(approvals.command("list").description("list the calls waiting for approval").option("--all", "also the recently answered ones")).action((flags: ApprovalsFlags) =>
    run(flags, "GET", `/api/v1/approvals${flags.all ? "?all=1" : ""}`, undefined, (body) => listText(body as { approvals: QueuedApproval[] })),
  );
  for (const decision of ["approve", "deny"] as const) {
    common(approvals.command(decision).description(`${decision} one waiting call (it runs at most once)`).argument("<id>", "the approval id from `warden approvals list`")).action(
      (id: string, flags: ApprovalsFlags) =>
        run(flags, "POST", `/api/v1/approvals/${encodeURIComponent(id)}`, { decision }, (body) => {
          const a = (body as { approval: QueuedApproval }).approval;
          return `${a.id}: ${a.state} (${a.tool}, ${a.rule})\n`;
        }),
    );
  }
}

async function run(flags: ApprovalsFlags, method: string, path: string, body: unknown, text: (body: unknown) => string): Promise<void> {
  const env = process.env;
  const base = (flags.url ?? env.WARDEN_URL ?? "http://127.0.0.1:8000").replace(/\/+$/, "");
  if (!/^https?:\/\/[^/]+$/.test(base)) throw new UsageError(`--url must be the server's base URL, like http://127.0.0.1:8000 (got ${JSON.stringify(base)})`);
  let token: string | undefined;
  try {
    token = resolveToken(flags.tokenFile, env);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  if (!token) throw new UsageError("approvals need the server's bearer token: give --token-file FILE or set WARDEN_TOKEN");
  let res: Response;
  try {
    res = await fetch(base + path, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body ? { "content-type": "application/json" } : {}) },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
  } catch (err) {
    process.stderr.write(`warden: cannot reach ${base}: ${((err as Error).cause as Error | undefined)?.message ?? (err as Error).message} (is the server running with --http or --approvals-port?)\n`);
    process.exitCode = 1;
    return;
  }
  const parsed = (await res.json().catch(() => null)) as { error?: { code: string; message: string } } | null;
  if (!res.ok || parsed === null) {
    process.stderr.write(`warden: ${res.status} ${parsed?.error ? `${parsed.error.code}: ${parsed.error.message}` : res.statusText}\n`);
    process.exitCode = 1;
    return;
  }
  process.stdout.write(flags.json ? `${JSON.stringify(parsed)}\n` : text(parsed));
}

function listText(body: { approvals: QueuedApproval[] }): string {
  if (body.approvals.length === 0) return "no calls are waiting for approval\n";
  return body.approvals
    .map((a) => `${a.id}  ${a.state}  ${a.tool}  ${a.rule}  expires ${a.binding.expires_at}\n  ${a.question.replace(/\n/g, "\n  ")}\n`)
    .join("");
}
