import { createHash } from "node:crypto";
import { FLAG_SEPARATOR, NAME_SEPARATOR, REDACTED, SECRET_NAME, SECRET_PATTERNS, VALUE } from "./secret-patterns.js";

export { REDACTED } from "./secret-patterns.js";

export interface RedactOptions {
  /** Longer strings are cut to this many characters after redaction, with their full length noted. Default 4096. */
  maxString?: number;
  /**
   * Keys whose string values are file or stream contents (write_file content, edit_file texts,
   * stdin): never stored, only their UTF-8 length and sha256. Default: DEFAULT_CONTENT_KEYS.
   */
  contentKeys?: readonly string[];
  /** Nesting deeper than this is replaced by a marker. Default 8. */
  maxDepth?: number;
  /** Arrays longer than this keep their first items and a count. Default 100. */
  maxItems?: number;
}

export const DEFAULT_CONTENT_KEYS: readonly string[] = ["content", "old_text", "new_text", "stdin", "input", "data"];

/** Secrets may straddle the cut: redact this much beyond maxString before cutting. */
const CUT_MARGIN = 16 * 1024;

/**
 * The arguments of a tool call as the audit log may keep them. Values under keys matching
 * `redactKeys` (globs, case-insensitive) become "[REDACTED]"; every other string is scanned for
 * values that look like secrets whatever their key (tokens, keys, PEM blocks, `password=...`,
 * URL credentials); contents become length + sha256; long strings are cut. Pure: no I/O.
 */
export function redactArgs(args: Record<string, unknown>, redactKeys: readonly string[], options: RedactOptions = {}): Record<string, unknown> {
  const ctx = context(redactKeys, options);
  const out = redactValue(args, ctx, 0);
  return out !== null && typeof out === "object" && !Array.isArray(out) ? (out as Record<string, unknown>) : {};
}

/** An environment map (execute_command's `env`) with the same rules; values stay strings. */
export function redactEnv(env: Record<string, string | undefined>, redactKeys: readonly string[], options: RedactOptions = {}): Record<string, string> {
  const ctx = context(redactKeys, { ...options, contentKeys: [] });
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(env)) {
    if (value === undefined) continue;
    out[key] = ctx.isSecretKey(key) ? REDACTED : redactString(value, ctx);
  }
  return out;
}

/** One string (a command line, a header): secret-looking values redacted, nothing cut. */
export function redactText(text: string, redactKeys: readonly string[] = []): string {
  return scan(text, keyMatcher(redactKeys));
}

/**
 * A predicate for keys matching any of the globs (`*` any run, `?` one character), case-insensitive.
 * A key also matches with `-`, `.` and spaces read as `_`, so `X-Api-Key` meets `*api_key*`.
 */
export function keyMatcher(globs: readonly string[]): (key: string) => boolean {
  const patterns = globs.map((glob) => new RegExp(`^${glob.toLowerCase().replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*").replace(/\?/g, ".")}$`, "s"));
  return (key) => {
    const lower = key.toLowerCase();
    const normalized = lower.replace(/[-.\s]/g, "_");
    return patterns.some((p) => p.test(lower) || p.test(normalized));
  };
}

interface Context {
  isSecretKey: (key: string) => boolean;
  isContentKey: (key: string) => boolean;
  maxString: number;
  maxDepth: number;
  maxItems: number;
}

function context(redactKeys: readonly string[], options: RedactOptions): Context {
  const content = new Set((options.contentKeys ?? DEFAULT_CONTENT_KEYS).map((k) => k.toLowerCase()));
  return {
    isSecretKey: keyMatcher(redactKeys),
    isContentKey: (key) => content.has(key.toLowerCase()),
    maxString: options.maxString ?? 4096,
    maxDepth: options.maxDepth ?? 8,
    maxItems: options.maxItems ?? 100,
  };
}

function redactValue(value: unknown, ctx: Context, depth: number): unknown {
  if (typeof value === "string") return redactString(value, ctx);
  if (value === null || typeof value === "number" || typeof value === "boolean") return value;
  if (typeof value === "bigint") return value.toString();
  if (typeof value !== "object") return null;
  if (value instanceof Uint8Array) return summarize(value, "binary");
  if (value instanceof Date) return value.toISOString();
  if (depth >= ctx.maxDepth) return "[TRUNCATED: nested too deep]";
  if (Array.isArray(value)) {
    const items = value.slice(0, ctx.maxItems).map((item) => redactValue(item, ctx, depth + 1));
    if (value.length > ctx.maxItems) items.push(`[TRUNCATED: ${value.length - ctx.maxItems} more items]`);
    return items;
  }
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) {
    if (ctx.isSecretKey(key)) out[key] = REDACTED;
    else if (ctx.isContentKey(key) && (typeof item === "string" || item instanceof Uint8Array)) out[key] = summarize(item, "content");
    else out[key] = redactValue(item, ctx, depth + 1);
  }
  return out;
}

function redactString(text: string, ctx: Context): string {
  if (text.length <= ctx.maxString) return scan(text, ctx.isSecretKey);
  const head = scan(text.slice(0, ctx.maxString + CUT_MARGIN), ctx.isSecretKey).slice(0, ctx.maxString);
  return `${head}…[TRUNCATED: ${text.length} chars]`;
}

/** Contents are never stored: their size and hash identify them without revealing them. */
function summarize(value: string | Uint8Array, kind: "content" | "binary"): string {
  const bytes = typeof value === "string" ? Buffer.from(value, "utf8") : value;
  return `[${kind.toUpperCase()}: ${bytes.length} bytes, sha256:${createHash("sha256").update(bytes).digest("hex")}]`;
}

function scan(text: string, isSecretKey: (key: string) => boolean): string {
  let out = text;
  for (const { pattern, replace } of SECRET_PATTERNS) out = out.replace(pattern, replace as string);
  const seen = new Map<string, boolean>();
  const secretName = (name: string): boolean => {
    let secret = seen.get(name);
    if (secret === undefined) {
      const bare = name.replace(/^-+/, "");
      secret = SECRET_NAME.test(bare) || isSecretKey(bare);
      seen.set(name, secret);
    }
    return secret;
  };
  out = redactNamedValues(out, NAME_SEPARATOR, secretName);
  out = redactNamedValues(out, FLAG_SEPARATOR, secretName);
  return out;
}

/**
 * Replaces the value after every `name` + separator match whose name is a secret. A value that is
 * not replaced is not skipped either: scanning resumes right after the separator.
 */
function redactNamedValues(text: string, nameSeparator: RegExp, isSecret: (name: string) => boolean): string {
  const finder = new RegExp(nameSeparator.source, nameSeparator.flags);
  const value = new RegExp(VALUE.source, VALUE.flags);
  let out = "";
  let copied = 0;
  for (let m = finder.exec(text); m; m = finder.exec(text)) {
    if (!isSecret(m[1]!)) continue;
    const start = m.index + m[0].length;
    value.lastIndex = start;
    const v = value.exec(text);
    if (!v || text.startsWith(REDACTED, start)) continue;
    let end = start + v[0].length;
    // A bare value stops before "]": take the rest of a "[REDACTED]" an earlier pattern left in it.
    if (text.slice(end - REDACTED.length + 1, end + 1) === REDACTED) end++;
    out += text.slice(copied, start) + keepQuotes(text.slice(start, end));
    copied = end;
    finder.lastIndex = copied;
  }
  return copied === 0 ? text : out + text.slice(copied);
}

/** `"x"` -> `"[REDACTED]"`, `\"x\"` -> `\"[REDACTED]\"`, `x` -> `[REDACTED]`. */
function keepQuotes(value: string): string {
  const open = /^(\\?["'])/.exec(value)?.[1];
  return open && value.length > open.length && value.endsWith(open) ? `${open}${REDACTED}${open}` : REDACTED;
}
