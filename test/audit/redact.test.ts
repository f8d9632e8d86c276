import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { keyMatcher, REDACTED, redactArgs, redactEnv, redactText } from "../../src/audit/redact.js";
import { auditSchema } from "../../src/policy/schema/audit.js";

const KEYS = auditSchema.parse({}).redact_keys;
const R = REDACTED;
const sha = (s: string) => createHash("sha256").update(s, "utf8").digest("hex");

// Realistic-looking fake secrets (none is live).
const GHP = "ghp_" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8";
const PAT = "github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMN";
const SK = "sk-proj-" + "abcDEF123456ghiJKL789mnoPQR";
const ANT = "sk-ant-api03-" + "x".repeat(40);
const SLACK = "xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx";
const AKIA = "AKIAIOSFODNN7EXAMPLE";
const JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U";
const PEM = "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA1234567890abcdef\nQWERTYUIOPASDFGHJKL==\n-----END RSA PRIVATE KEY-----";
const GOOGLE = "AIza" + "SyA1234567890abcdefghijklmnopqrstuv";

/** [description, input, expected output] for a single string scanned whatever its key. */
const TEXT_CASES: [string, string, string][] = [
  ["plain command untouched", "ls -la /tmp", "ls -la /tmp"],
  ["git command untouched", "git commit -m 'fix token parsing'", "git commit -m 'fix token parsing'"],
  ["bearer header in curl", `curl -H "Authorization: Bearer abcdef123456" https://api.x`, `curl -H "Authorization: ${R}" https://api.x`],
  ["bare bearer", "Bearer abc.def-ghi_jkl~123", `Bearer ${R}`],
  ["lowercase bearer", "bearer abcdefgh12345678", `bearer ${R}`],
  ["basic auth", "Basic dXNlcjpwYXNzd29yZA==", `Basic ${R}`],
  ["custom scheme after authorization", `-H 'authorization: Custom s3cr3t v'`, `-H 'authorization: ${R}'`],
  ["cookie header", `-H "Cookie: session=abc123; theme=dark"`, `-H "Cookie: ${R}"`],
  ["ghp token", `git clone https://${GHP}@github.com/o/r`, `git clone https://${R}@github.com/o/r`],
  ["ghp token alone", `echo ${GHP}`, `echo ${R}`],
  ["gho/ghs tokens", `gho_${"a".repeat(36)} ghs_${"b".repeat(36)}`, `${R} ${R}`],
  ["fine-grained pat", `GH=${PAT} gh api`, `GH=${R} gh api`],
  ["openai project key", `export OPENAI=${SK}`, `export OPENAI=${R}`],
  ["anthropic key", `x ${ANT} y`, `x ${R} y`],
  ["short sk- word untouched", "pip install sk-learn", "pip install sk-learn"],
  ["slack bot token", `slack ${SLACK}`, `slack ${R}`],
  ["slack user token", "xoxp-1234567890-abcdef", R],
  ["aws key id", `aws configure set aws_access_key_id ${AKIA}`, `aws configure set aws_access_key_id ${R}`],
  ["aws ASIA id", "ASIAY34FZKBOKMUTVV7A", R],
  ["google api key", `key=${GOOGLE}`, `key=${R}`],
  ["stripe live key", "sk_live_4eC39HqLyjWDarjtT1zdp7dc", R],
  ["gitlab token", "glpat-abcdefghijklmnopqrst", R],
  ["npm token", `npm_${"a1B2".repeat(9)}`, R],
  ["jwt", `token ${JWT}`, `token ${R}`],
  ["pem block", `printf '${PEM}' > k`, `printf '${R}' > k`],
  ["pem block json-escaped newlines", PEM.replace(/\n/g, "\\n"), R],
  ["unterminated pem", "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA", R],
  ["pgp private block", "-----BEGIN PGP PRIVATE KEY BLOCK-----\nxyz\n-----END PGP PRIVATE KEY BLOCK-----", R],
  ["public key untouched", "-----BEGIN PUBLIC KEY-----\nMIIB\n-----END PUBLIC KEY-----", "-----BEGIN PUBLIC KEY-----\nMIIB\n-----END PUBLIC KEY-----"],
  ["password= flag", "mysql --password=hunter2 db", `mysql --password=${R} db`],
  ["password flag with space", "tool --password hunter2 -v", `tool --password ${R} -v`],
  ["token flag with space", "tool login --with-token t0k3n", `tool login --with-token ${R}`],
  ["token flag exact", "cli --token abc123 run", `cli --token ${R} run`],
  ["env assignment prefix", "PGPASSWORD=s3cret psql -h db", `PGPASSWORD=${R} psql -h db`],
  ["export token", "export GITHUB_TOKEN=abc123", `export GITHUB_TOKEN=${R}`],
  ["quoted value", `API_KEY="a b c" ./run`, `API_KEY="${R}" ./run`],
  ["single-quoted value", `SECRET='x y' ./run`, `SECRET='${R}' ./run`],
  ["mysql pwd env", "MYSQL_PWD=pw mysql", `MYSQL_PWD=${R} mysql`],
  ["PWD env untouched", "PWD=/home/me make", "PWD=/home/me make"],
  ["json body", `curl -d '{"user":"bob","password":"hunter2"}'`, `curl -d '{"user":"bob","password":"${R}"}'`],
  ["escaped json body", `curl -d "{\\"password\\":\\"hunter2\\"}"`, `curl -d "{\\"password\\":\\"${R}\\"}"`],
  ["yaml-ish colon", "client_secret: abc123", `client_secret: ${R}`],
  ["query string token", "curl 'https://x/api?access_token=abc123&page=2'", `curl 'https://x/api?access_token=${R}&page=2'`],
  ["url credentials", "git clone https://bob:hunter2@example.com/r.git", `git clone https://bob:${R}@example.com/r.git`],
  ["db url credentials", "psql postgres://app:pa55@db:5432/x", `psql postgres://app:${R}@db:5432/x`],
  ["url without credentials untouched", "curl https://example.com:8443/a@b", "curl https://example.com:8443/a@b"],
  ["curl -u", "curl -u bob:hunter2 https://x", `curl -u bob:${R} https://x`],
  ["curl --user=", "curl --user=bob:hunter2 https://x", `curl --user=bob:${R} https://x`],
  ["sshpass", "sshpass -p hunter2 ssh host", `sshpass -p ${R} ssh host`],
  ["passphrase", "gpg --passphrase s3 -d f", `gpg --passphrase ${R} -d f`],
  ["openssl -pass", "openssl enc -pass pass:xyz", `openssl enc -pass ${R}`],
  ["author untouched", `git commit --author="A <a@b>"`, `git commit --author="A <a@b>"`],
  ["several secrets", `A_TOKEN=1 B_SECRET=2 ${GHP}`, `A_TOKEN=${R} B_SECRET=${R} ${R}`],
  ["idempotent", `TOKEN=${R}`, `TOKEN=${R}`],
];

describe("redactText", () => {
  it.each(TEXT_CASES)("%s", (_name, input, expected) => {
    expect(redactText(input, KEYS)).toBe(expected);
  });

  it("never returns a known secret fragment", () => {
    for (const secret of [GHP, PAT, SK, ANT, SLACK, AKIA, JWT, GOOGLE]) {
      expect(redactText(`a ${secret} b`, KEYS)).not.toContain(secret.slice(8, 20));
    }
  });

  it("ends on long adversarial strings (no catastrophic backtracking)", () => {
    // A hang guard, not a speed check (bench/ holds those): these 200k-character inputs take well
    // under a second when every pattern is linear; one quadratic pattern would take minutes.
    const started = performance.now();
    for (const s of ["a".repeat(200_000), "-".repeat(200_000), "a=".repeat(100_000), '"'.repeat(200_000), "Bearer ".repeat(30_000), "x:".repeat(100_000), "-----BEGIN ".repeat(20_000), "a://".repeat(50_000), "password=\"".repeat(20_000), "--token '".repeat(20_000), "eyJ".repeat(60_000)]) {
      redactText(s, KEYS);
    }
    expect(performance.now() - started).toBeLessThan(30_000);
  });
});

/** [description, key, should match default redact_keys]. */
const KEY_CASES: [string, string, boolean][] = [
  ["token", "token", true],
  ["GITHUB_TOKEN", "GITHUB_TOKEN", true],
  ["accessToken camel", "accessToken", true],
  ["Authorization", "Authorization", true],
  ["Proxy-Authorization", "Proxy-Authorization", true],
  ["x-api-key", "x-api-key", true],
  ["apiKey", "apiKey", true],
  ["API_KEY", "API_KEY", true],
  ["client_secret", "client_secret", true],
  ["DB_PASSWORD", "DB_PASSWORD", true],
  ["passwd", "passwd", true],
  ["privateKey", "privateKey", true],
  ["aws_secret_access_key", "aws_secret_access_key", true],
  ["credentials", "credentials", true],
  ["Cookie", "Cookie", true],
  ["passphrase", "passphrase", true],
  ["path", "path", false],
  ["command", "command", false],
  ["content", "content", false],
  ["HOME", "HOME", false],
  ["author", "author", false],
  ["keyboard", "keyboard", false],
];

describe("keyMatcher with the default redact_keys", () => {
  const matches = keyMatcher(KEYS);
  it.each(KEY_CASES)("%s", (_name, key, expected) => {
    expect(matches(key)).toBe(expected);
  });

  it("supports ? and escapes regex characters", () => {
    const m = keyMatcher(["x?y", "a.b", "(c)"]);
    expect([m("xzy"), m("XZY"), m("xy"), m("a.b"), m("a-b"), m("axb"), m("(c)"), m("c")]).toEqual([true, true, false, true, false, false, true, false]);
  });

  it("matches nothing with no globs", () => {
    expect(keyMatcher([])("token")).toBe(false);
  });
});

describe("redactArgs", () => {
  it("redacts values under secret keys whatever their type, at any depth", () => {
    const out = redactArgs({ path: "a", options: { headers: { Authorization: "x", Accept: "json" }, api_key: 42, nested: [{ token: { a: 1 } }] } }, KEYS);
    expect(out).toEqual({ path: "a", options: { headers: { Authorization: R, Accept: "json" }, api_key: R, nested: [{ token: R }] } });
  });

  it("redacts execute_command env by key and by value", () => {
    const out = redactArgs(
      { command: `curl -H "Authorization: Bearer abcdefgh1234" x`, env: { GITHUB_TOKEN: GHP, DATABASE_URL: "postgres://u:p4ss@h/db", LANG: "C", NOTE: `key ${AKIA}` } },
      KEYS,
    );
    expect(out).toEqual({
      command: `curl -H "Authorization: ${R}" x`,
      env: { GITHUB_TOKEN: R, DATABASE_URL: `postgres://u:${R}@h/db`, LANG: "C", NOTE: `key ${R}` },
    });
  });

  it("never keeps write_file content: length and sha256 instead", () => {
    const content = "line one\nSECRET=hunter2\nünïcode\n";
    const out = redactArgs({ path: "/r/.env", content }, KEYS);
    expect(out.content).toBe(`[CONTENT: ${Buffer.byteLength(content)} bytes, sha256:${sha(content)}]`);
    expect(JSON.stringify(out)).not.toContain("hunter2");
  });

  it("summarizes edit_file texts, stdin and process input, and keeps the rest", () => {
    const out = redactArgs({ path: "f", edits: [{ old_text: "a", new_text: "b" }], dry_run: true, stdin: "pw\n", input: "ls\n" }, KEYS);
    expect(out).toEqual({
      path: "f",
      edits: [{ old_text: `[CONTENT: 1 bytes, sha256:${sha("a")}]`, new_text: `[CONTENT: 1 bytes, sha256:${sha("b")}]` }],
      dry_run: true,
      stdin: `[CONTENT: 3 bytes, sha256:${sha("pw\n")}]`,
      input: `[CONTENT: 3 bytes, sha256:${sha("ls\n")}]`,
    });
  });

  it("summarizes an empty content too (its presence matters, never its text)", () => {
    expect(redactArgs({ content: "" }, KEYS).content).toBe(`[CONTENT: 0 bytes, sha256:${sha("")}]`);
  });

  it("summarizes binary values under any key", () => {
    expect(redactArgs({ blob: new Uint8Array([1, 2, 3]) }, KEYS).blob).toMatch(/^\[BINARY: 3 bytes, sha256:[0-9a-f]{64}\]$/);
  });

  it("cuts long strings after redacting them, noting the full length", () => {
    const long = `${"x".repeat(5000)}`;
    const out = redactArgs({ command: `echo ${long}` }, KEYS, { maxString: 100 }).command as string;
    expect(out).toBe(`echo ${"x".repeat(95)}…[TRUNCATED: ${long.length + 5} chars]`);
  });

  it("redacts a secret that straddles the cut", () => {
    const out = redactArgs({ command: `${"a ".repeat(48)}${GHP} more` }, KEYS, { maxString: 100 }).command as string;
    expect(out).not.toContain(GHP.slice(0, 8));
    expect(out).toContain("…[TRUNCATED:");
  });

  it("limits depth and array length", () => {
    let deep: Record<string, unknown> = { leaf: 1 };
    for (let i = 0; i < 20; i++) deep = { d: deep };
    expect(JSON.stringify(redactArgs(deep, KEYS))).toContain("[TRUNCATED: nested too deep]");
    const arr = redactArgs({ a: Array.from({ length: 150 }, (_, i) => i) }, KEYS, { maxItems: 10 }).a as unknown[];
    expect(arr).toHaveLength(11);
    expect(arr[10]).toBe("[TRUNCATED: 140 more items]");
  });

  it("survives cycles and odd values, and returns plain JSON", () => {
    const cyclic: Record<string, unknown> = { a: 1, big: 10n, when: new Date(0), fn: () => 1, u: undefined };
    cyclic.self = cyclic;
    const out = redactArgs(cyclic, KEYS);
    expect(() => JSON.stringify(out)).not.toThrow();
    expect(out.big).toBe("10");
    expect(out.when).toBe("1970-01-01T00:00:00.000Z");
  });

  it("does not mutate its input", () => {
    const input = { env: { TOKEN: "x" }, command: `echo ${GHP}` };
    const copy = structuredClone(input);
    redactArgs(input, KEYS);
    expect(input).toEqual(copy);
  });

  it("uses the policy's globs: custom keys, and none", () => {
    expect(redactArgs({ project_id: "p1", x: "y" }, ["project_*"])).toEqual({ project_id: R, x: "y" });
    // Built-in value patterns apply even with no redact_keys.
    expect(redactArgs({ token: "plain", command: `echo ${GHP}` }, [])).toEqual({ token: "plain", command: `echo ${R}` });
  });

  it("policy globs also name secrets inside strings", () => {
    expect(redactText("MY_PIN=1234 run", ["*pin*"])).toBe(`MY_PIN=${R} run`);
  });
});

describe("redactEnv", () => {
  it("keeps strings, redacts by key and value, drops undefined", () => {
    expect(redactEnv({ HOME: "/h", NPM_TOKEN: "x", U: "https://a:b@c", GONE: undefined, content: "kept as env" }, KEYS)).toEqual({
      HOME: "/h",
      NPM_TOKEN: R,
      U: `https://a:${R}@c`,
      content: "kept as env",
    });
  });
});
