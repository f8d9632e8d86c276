import { describe, expect, test } from "vitest";
import { compileDenyRules, denyRuleName, relativeUnder } from "../../src/policy/path-rules.js";

const DEFAULT = ["**/.env", "**/.env.*", "**/*.pem", "**/*.key", "**/id_rsa", "**/.ssh/**", "**/.aws/credentials", "secrets/**", "**/private"];

// [relPath, glob hiding it (match: the path or any parent), glob matching the path itself (matchOne)]
const TABLE: [string, string | null, string | null][] = [
  [".env", "**/.env", "**/.env"],
  ["a/.env", "**/.env", "**/.env"],
  ["a/b/c/.env", "**/.env", "**/.env"],
  [".env.local", "**/.env.*", "**/.env.*"],
  ["a/.env.production", "**/.env.*", "**/.env.*"],
  [".envrc", null, null],
  ["env", null, null],
  ["a.env", null, null],
  [".env/inside", "**/.env", null],
  ["server.pem", "**/*.pem", "**/*.pem"],
  ["deep/dir/tls.key", "**/*.key", "**/*.key"],
  ["keyboard.txt", null, null],
  ["id_rsa", "**/id_rsa", "**/id_rsa"],
  ["id_rsa.pub", null, null],
  [".ssh", "**/.ssh/**", "**/.ssh/**"],
  [".ssh/config", "**/.ssh/**", "**/.ssh/**"],
  ["home/u/.ssh/known_hosts", "**/.ssh/**", "**/.ssh/**"],
  [".sshx/config", null, null],
  ["x.ssh/config", null, null],
  [".aws/credentials", "**/.aws/credentials", "**/.aws/credentials"],
  [".aws/config", null, null],
  ["secrets", "secrets/**", "secrets/**"],
  ["secrets/a", "secrets/**", "secrets/**"],
  ["secrets/a/b", "secrets/**", "secrets/**"],
  ["a/secrets/b", null, null],
  ["secretsx/a", null, null],
  ["private", "**/private", "**/private"],
  ["a/private", "**/private", "**/private"],
  ["a/private/b/c.txt", "**/private", null],
  ["privately", null, null],
  ["src/index.ts", null, null],
  ["", null, null],
  [".", null, null],
  ["./.env", "**/.env", null],
  ["a//.env", "**/.env", null],
];

describe("compileDenyRules", () => {
  const rules = compileDenyRules(DEFAULT);
  test.each(TABLE)("match(%j) -> %j", (rel, hidden) => {
    expect(rules.match(rel)).toBe(hidden);
  });
  test.each(TABLE.filter(([rel]) => !rel.includes("//") && !rel.startsWith("./")))("matchOne(%j) -> %j", (rel, _hidden, self) => {
    expect(rules.matchOne(rel)).toBe(self);
  });
  test("no globs hide nothing", () => {
    const none = compileDenyRules([]);
    for (const [rel] of TABLE) expect(none.match(rel)).toBeNull();
  });
  test("empty globs are ignored", () => {
    expect(compileDenyRules([""]).match("a")).toBeNull();
  });
  test("the first matching glob is reported", () => {
    expect(compileDenyRules(["**/*.key", "**/tls.key"]).match("tls.key")).toBe("**/*.key");
  });
  test("rule names", () => {
    expect(denyRuleName("**/.env")).toBe("filesystem.deny:**/.env");
  });
});

describe("relativeUnder", () => {
  test.each([
    ["/a", "/a", ""],
    ["/a", "/a/b", "b"],
    ["/a", "/a/b/c", "b/c"],
    ["/a", "/ab", null],
    ["/a", "/a_x/b", null],
    ["/a", "/a'/b", null],
    ["/a", "/a /b", null],
    ["/a", "/", null],
    ["/a/b", "/a", null],
    ["/", "/", ""],
    ["/", "/etc/passwd", "etc/passwd"],
    ["/", "relative", null],
  ])("relativeUnder(%j, %j) -> %j", (root, child, rel) => {
    expect(relativeUnder(root, child)).toBe(rel);
  });
});
