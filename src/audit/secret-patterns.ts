/**
 * Patterns for values that look like secrets whatever key they sit under. Each one replaces only
 * the secret part and keeps enough around it (the header name, the URL user, the flag) for the
 * record to stay readable. Every pattern is anchored on a literal or a word start so that a long
 * string costs linear time.
 */
export const REDACTED = "[REDACTED]";

export interface SecretPattern {
  name: string;
  pattern: RegExp;
  replace: string | ((...groups: string[]) => string);
}

export const SECRET_PATTERNS: readonly SecretPattern[] = [
  {
    name: "pem-private-key",
    pattern: /-----BEGIN [A-Z0-9 ]*PRIVATE KEY[A-Z ]*-----[\s\S]*?(?:-----END [A-Z0-9 ]*PRIVATE KEY[A-Z ]*-----|$)/g,
    replace: REDACTED,
  },
  { name: "authorization-header", pattern: /\b((?:proxy-)?authorization\s*:\s*)[^"'\r\n\\]+/gi, replace: `$1${REDACTED}` },
  { name: "cookie-header", pattern: /\b((?:set-)?cookie\s*:\s*)[^"'\r\n\\]+/gi, replace: `$1${REDACTED}` },
  { name: "url-credentials", pattern: /\b([a-z][a-z0-9+.-]*:\/\/)([^\s/?#@:"']*):([^\s/?#@"']+)@/gi, replace: `$1$2:${REDACTED}@` },
  { name: "github-token", pattern: /\b(?:gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,})/g, replace: REDACTED },
  { name: "openai-anthropic-key", pattern: /\bsk-[A-Za-z0-9_-]{16,}/g, replace: REDACTED },
  { name: "stripe-key", pattern: /\b[rsp]k_(?:live|test)_[A-Za-z0-9]{16,}/g, replace: REDACTED },
  { name: "slack-token", pattern: /\bxox[abposr]-[A-Za-z0-9-]{10,}/g, replace: REDACTED },
  { name: "aws-access-key-id", pattern: /\b(?:AKIA|ASIA|ABIA|ACCA)[0-9A-Z]{16}\b/g, replace: REDACTED },
  { name: "google-api-key", pattern: /\bAIza[0-9A-Za-z_-]{35}/g, replace: REDACTED },
  { name: "gitlab-token", pattern: /\bglpat-[0-9A-Za-z_-]{20,}/g, replace: REDACTED },
  { name: "npm-token", pattern: /\bnpm_[A-Za-z0-9]{36}\b/g, replace: REDACTED },
  { name: "jwt", pattern: /\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*/g, replace: REDACTED },
  { name: "bearer", pattern: /\b(Bearer\s+)[A-Za-z0-9._~+/-]{8,}=*/gi, replace: `$1${REDACTED}` },
  { name: "basic-auth", pattern: /\b(Basic\s+)[A-Za-z0-9+/]{8,}={0,2}(?![A-Za-z0-9+/=])/g, replace: `$1${REDACTED}` },
  { name: "curl-user", pattern: /((?:^|\s)(?:-u|--user|--proxy-user)[\s=]*)(["']?)([^\s:"']*):([^\s"']+)\2/g, replace: `$1$2$3:${REDACTED}$2` },
  { name: "sshpass", pattern: /\b(sshpass\s+-p\s*)\S+/g, replace: `$1${REDACTED}` },
];

/** Names that mark the value after them (`NAME=v`, `--name v`, `"name": "v"`) as a secret, besides the policy's redact_keys. */
export const SECRET_NAME =
  /password|passwd|passphrase|(?:^|[_.-])pass(?:$|[_.-])|[_.-]pwd$|secret|token|api[_-]?key|access[_-]?key|private[_-]?key|credential|(?:^|[_.-])auth(?:$|[_.-])|cookie|session[_-]?id/i;

/**
 * `name=value`, `name: value`, `"name": "value"` (quotes possibly backslash-escaped, as in JSON
 * inside a shell string): the name and separator. The value is matched separately (VALUE) so a
 * value that is not a secret is scanned again for names inside it (a URL's query string).
 */
export const NAME_SEPARATOR = /(?<![\w.-])(-{0,2}[A-Za-z_][\w.-]*)((?:\\?["'])?\s*[=:]\s*)/g;

/** `--password value`, `-token value`: the flag and the whitespace after it. */
export const FLAG_SEPARATOR = /(?<![\w-])(--?[A-Za-z][\w.-]*)(\s+)(?=[^\s-])/g;

/**
 * A value after a name: a quoted string (bounded, so that scanning stays linear), a JSON string
 * with escaped quotes, or a bare word; an overlong quoted value is cut at the first whitespace.
 */
export const VALUE = /"(?:[^"\\\n]|\\.){0,2048}"|\\"(?:[^"\\\n]|\\[^"]){0,2048}\\"|'[^'\n]{0,2048}'|[^\s"'&;|,)}\]\\]+|\\?["'][^\s]*/y;
