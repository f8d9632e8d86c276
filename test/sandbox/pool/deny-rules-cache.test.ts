import { describe, expect, test } from "vitest";
import { compileDenyRules } from "../../../src/policy/path-rules.js";
import { DEFAULT_DENY_GLOBS } from "../../../src/policy/schema/filesystem.js";
import { DenyRulesCache, withLiteralPrefilter } from "../../../src/sandbox/pool/deny-rules-cache.js";

/*
 * The worker's deny matcher must answer exactly like the policy's own (picomatch) for every path:
 * the literal prefilter may only skip globs that cannot match.
 */

const GLOB_LISTS: string[][] = [
  DEFAULT_DENY_GLOBS,
  ["secrets/**", "**/*.key", "a?c/*.txt", "**/node_modules/**/.env*"],
  ["**/{a,b}.txt", "**/[xy].pem", "!(keep)/*.env", "**/@(p|q)", "dir\\*name", "**/*"],
  ["*", "**", "?", ".*", "*.", "-x-", "x/**/y"],
  // picomatch drops a leading `./`: its `.` is not a literal of the path.
  ["./secrets", "././id_rsa", "./**/*.pem", "./.env", "a/./b", "x/..", "./"],
];

const NAMES = [".env", ".env.local", "env", "x.env", "id_rsa", "id_rsa.pub", "id_rsa2", "id_ed25519", "key.pem", ".pem", "a.key",
  "keep", "a", "b.txt", "a.txt", "x.pem", "p", "q", "abc", "aXc", "credentials", ".aws", ".ssh", ".netrc", ".npmrc", "dir*name",
  "dir\\*name", "-x-", "y", "x", "", ".", "..", "node_modules", "secrets", "f.txt", ".git-credentials", "*.", "café.env"];

/** Every path of 1-3 components over NAMES (skipping empty components). */
function paths(): string[] {
  const out: string[] = [];
  const names = NAMES.filter((n) => n !== "");
  for (const a of names) {
    out.push(a);
    for (const b of names) {
      out.push(`${a}/${b}`);
      for (const c of ["a", ".env", "id_rsa.pub", "x.pem", "y", ".ssh"]) out.push(`${a}/${b}/${c}`);
    }
  }
  return [...out, "", "."];
}

describe("withLiteralPrefilter answers like compileDenyRules", () => {
  const all = paths();
  test.each(GLOB_LISTS.map((globs) => [globs.join(" "), globs] as const))("%s", (_name, globs) => {
    const reference = compileDenyRules(globs);
    const fast = withLiteralPrefilter(globs);
    const diffs = all.filter((p) => reference.matchOne(p) !== fast.matchOne(p) || reference.match(p) !== fast.match(p));
    expect(diffs).toEqual([]);
  });
});

describe("DenyRulesCache", () => {
  test("compiles a glob list once and answers for it", () => {
    const cache = new DenyRulesCache();
    const rules = cache.get(["**/.env"]);
    expect(cache.get(["**/.env"])).toBe(rules);
    expect(rules.matchOne("a/.env")).toBe("**/.env");
    expect(cache.get(["**/.env", "**/*.pem"])).not.toBe(rules);
  });
});
