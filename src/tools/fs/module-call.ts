import { randomBytes } from "node:crypto";
import type { EffectiveRoot } from "../../policy/roots.js";
import type { ModuleRunResult } from "../../sandbox/types.js";
import { fail, type ToolContext, type ToolOutcome } from "../tool.js";
import { toGuestPath } from "./guest-path.js";

export type ModuleCall =
  | { ok: true; stdout: Uint8Array; stderr: string; path: string; roots: EffectiveRoot[] }
  | { ok: false; outcome: ToolOutcome };

/**
 * Runs one WASI module on one path argument inside the session's roots and turns every failure
 * into a tool result naming its rule. The module sees only the preopens built here from the
 * effective roots and the policy's deny globs.
 */
export async function callModule(
  ctx: ToolContext,
  module: string,
  inputPath: string,
  args: string[],
  opts: { stdin?: Uint8Array; maxStdoutBytes?: number; claims?: SharedArrayBuffer; denyGlobs?: string[]; inline?: boolean; readOnly?: boolean } = {},
): Promise<ModuleCall> {
  const roots = await ctx.roots();
  const guest = toGuestPath(inputPath, roots);
  if (!guest.ok) return { ok: false, outcome: fail(guest.rule, guest.message) };
  const result = await ctx.sandbox.run({
    module,
    args: [...args, guest.path],
    ...(opts.stdin ? { stdin: opts.stdin } : {}),
    ...(opts.claims ? { claims: opts.claims } : {}),
    ...(opts.inline ? { inline: true } : {}),
    scope: {
      // readOnly: a call that only reads sees every root read-only (in a copy-on-write workspace it
      // may then read files no layer holds from the lower layer: sandbox/host/lower-twin.ts).
      preopens: roots.map((r) => ({ hostPath: r.path, writable: r.writable && !opts.readOnly, ...(r.held ? { held: r.held } : {}) })),
      denyGlobs: opts.denyGlobs ?? ctx.policy.filesystem.deny,
    },
    deadlineMs: ctx.policy.filesystem.tool_timeout_ms,
    maxStdoutBytes: opts.maxStdoutBytes ?? 64 * 1024 * 1024,
  });
  if (result.exitCode === 0 && !result.timedOut) return { ok: true, stdout: result.stdout, stderr: result.stderr, path: guest.path, roots };
  return { ok: false, outcome: failureOutcome(result, guest.path, roots, ctx.policy.filesystem.tool_timeout_ms) };
}

/**
 * A module run that replaces a file through a temporary file beside it (write, edit). The tool
 * picks the temporary file's tag (`--tmp-tag`), so when the run is stopped at its deadline midway,
 * the temporary file it may have left is removed by a second run (`write --discard-tmp`): a stopped
 * write leaves the old file as it was and nothing beside it.
 */
export async function callReplacing(
  ctx: ToolContext,
  module: "write" | "edit",
  inputPath: string,
  args: string[],
  opts: { stdin?: Uint8Array; maxStdoutBytes?: number; denyGlobs?: string[] } = {},
): Promise<ModuleCall> {
  const tag = randomBytes(4).toString("hex");
  const call = await callModule(ctx, module, inputPath, [...args, `--tmp-tag=${tag}`], opts);
  if (call.ok || call.outcome.ok || call.outcome.rule !== "tool.timeout") return call;
  const cleanup = await callModule(ctx, "write", inputPath, ["--discard-tmp", `--tmp-tag=${tag}`], opts.denyGlobs ? { denyGlobs: opts.denyGlobs } : {});
  const removed = cleanup.ok ? /discarded=1/.test(Buffer.from(cleanup.stdout).toString("utf8")) : null;
  const note = removed === null ? "; its temporary file could not be checked" : removed ? "; the file is unchanged and its temporary file was removed" : "; the file is unchanged";
  return { ok: false, outcome: { ...call.outcome, message: call.outcome.message + note } };
}

const CODE_RULES: Record<string, [string, string]> = {
  ENOENT: ["fs.not_found", "no such file or directory"],
  EISDIR: ["fs.is_directory", "is a directory"],
  ENOTDIR: ["fs.not_directory", "a path component is not a directory"],
  EEXIST: ["fs.exists", "already exists"],
  ELOOP: ["fs.symlink_loop", "too many levels of symbolic links"],
  EACCES: ["fs.access", "permission denied"],
  EPERM: ["fs.permission", "operation not permitted"],
  EROFS: ["filesystem.read_only", "the root is read-only"],
  ENOSPC: ["fs.no_space", "no space left on device"],
  EFBIG: ["fs.too_big", "file too large"],
  TOOBIG: ["fs.too_big", "result too large"],
  EINVAL: ["input.invalid", "invalid argument"],
  NOMATCH: ["edit.no_match", "old_text not found"],
  MULTIMATCH: ["edit.multiple_matches", "old_text matches more than once"],
  BADREGEX: ["input.bad_regex", "invalid regular expression"],
};

function failureOutcome(result: ModuleRunResult, path: string, roots: EffectiveRoot[], deadlineMs: number): ToolOutcome {
  if (result.timedOut) return fail("tool.timeout", `the operation on ${path} did not finish within ${deadlineMs} ms and was stopped`);
  // A root that moved is named only for a path inside it; any other denial explains the failure.
  const denial = result.denials.find((d) => d.rule !== "roots.moved" || path === d.path || path.startsWith(d.path + "/"));
  if (denial) return fail(denial.rule, denial.rule === "roots.moved" ? denial.reason : `${denial.reason}: ${denial.path || path}`);
  const last = result.stderr.trim().split("\n").pop() ?? "";
  const m = /^([A-Z][A-Z0-9_]*): (.*)$/.exec(last);
  const code = m?.[1] ?? "";
  const detail = m?.[2] ?? last;
  if (code === "ENOTCAPABLE" || code === "ENOTRECOVERABLE") {
    return fail("roots.outside", `${path} is outside the allowed roots (${roots.map((r) => r.path).join(", ")})`);
  }
  const known = CODE_RULES[code];
  if (known) return fail(known[0], detail || `${path}: ${known[1]}`);
  return fail("fs.error", detail ? `${code ? code + ": " : ""}${detail}` : `the operation on ${path} failed (exit ${result.exitCode})`);
}

/** Splits a NUL-terminated record stream into fields. */
export function nulFields(bytes: Uint8Array): string[] {
  const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("utf8");
  const parts = text.split("\0");
  parts.pop();
  return parts;
}

/** Parses `key=value key=value` (a header line or a stats line). */
export function keyValues(line: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of line.matchAll(/(\w+)=(\S*)/g)) out[m[1]!] = m[2]!;
  return out;
}

/** Splits `header\n` + payload. */
export function splitHeader(bytes: Uint8Array): { header: Record<string, string>; body: Uint8Array } {
  const nl = bytes.indexOf(10);
  if (nl < 0) return { header: {}, body: new Uint8Array() };
  const header = keyValues(Buffer.from(bytes.subarray(0, nl)).toString("utf8"));
  return { header, body: bytes.subarray(nl + 1) };
}
