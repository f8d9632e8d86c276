import { afterAll, describe, expect, test } from "vitest";
import { decideCommand, decideProcessInput } from "../../../src/policy/command/index.js";
import { askGlobFor } from "../../../src/policy/path-rules.js";
import { policySchema, type Policy } from "../../../src/policy/schema/index.js";
import { makeCorpusFixture } from "./fixture.js";

const fx = makeCorpusFixture();
afterAll(() => fx.cleanup());

function policyWith(commands: Record<string, unknown>): Policy {
  return policySchema.parse({ commands: { trusted_path: [fx.bin], ...commands } });
}

const ASK_RM = { program: "rm", name: "ask-rm" };
const ASK_GIT_PUSH = { program: "git", args_deny: ["^push( |$)"], name: "ask-push" };

describe("ask: deny beats ask beats allow", () => {
  // [command, commands section, allowed?, rule of the decision, ask rule or null]
  const CASES: [string, Record<string, unknown>, boolean, string, string | null][] = [
    ["rm x", { allow: [{ program: "rm" }], ask: [ASK_RM] }, true, "ask-rm", "ask-rm"],
    ["rm x", { ask: [ASK_RM] }, true, "ask-rm", "ask-rm"], // an ask rule alone lets it run once approved
    ["rm x", { deny: [{ program: "rm" }], ask: [ASK_RM], allow: [{ program: "rm" }] }, false, "commands.deny[0]", null],
    ["ls", { allow: [{ program: "ls" }], ask: [ASK_RM] }, true, "commands.allow[0]", null],
    ["git status", { allow: [{ program: "git" }], ask: [ASK_GIT_PUSH] }, true, "commands.allow[0]", null],
    ["git push origin main", { allow: [{ program: "git" }], ask: [ASK_GIT_PUSH] }, true, "ask-push", "ask-push"],
    ["git push $REMOTE", { allow: [{ program: "git" }], ask: [ASK_GIT_PUSH] }, false, "dynamic_argument", null], // allow rules still need literal args here
    ["git $SUB", { allow: [{ program: "git" }], ask: [ASK_GIT_PUSH] }, false, "dynamic_argument", null],
    // every position: pipelines, lists, substitutions, wrappers
    ["ls | rm x", { allow: [{ program: "ls" }], ask: [ASK_RM] }, true, "commands.allow[0],ask-rm", "ask-rm"],
    ["ls && timeout 5 rm x", { allow: [{ program: "ls" }, { program: "timeout" }], ask: [ASK_RM] }, true, "commands.allow[0],ask-rm", "ask-rm"],
    ["echo $(rm x)", { allow: [{ program: "echo" }], ask: [ASK_RM] }, true, "ask-rm,commands.allow[0]", "ask-rm"], // the substitution is decided first
    ["ls; xargs rm < list", { allow: [{ program: "ls" }, { program: "xargs" }], ask: [ASK_RM] }, true, "commands.allow[0],ask-rm", "ask-rm"], // xargs is a wrapper: its inner rm decides
    ["rm x | sh", { ask: [ASK_RM] }, false, "shell_not_allowed", null],
  ];
  test.each(CASES)("%s (%j)", async (input, commands, allowed, rule, ask) => {
    const d = await decideCommand(fx.fill(input), policyWith(commands), fx.env());
    expect({ allow: d.allow, ask: d.ask?.rule ?? null }).toEqual({ allow: allowed, ask });
    if (allowed) expect(d.rule).toBe(rule);
    else expect(d.rule).toMatch(new RegExp(`^${rule.replace(/[.[\]]/g, "\\$&")}|dynamic_argument|shell`));
  });

  test("an ask rule whose arguments expand at run time asks (never skips the question)", async () => {
    const d = await decideCommand("rm $TARGET", policyWith({ ask: [{ program: "rm", args_deny: ["^-r"] }] }), fx.env());
    expect(d.allow).toBe(true);
    expect(d.ask?.rule).toBe("commands.ask[0]");
    expect(d.ask?.reason).toMatch(/expand at run time/);
  });

  test("with --allow, ask gates the listed programs and cannot add others", async () => {
    const p = policyWith({ ask: [ASK_RM] });
    const listed = await decideCommand("rm x", p, fx.env({ extraAllowed: ["rm"] }));
    expect({ allow: listed.allow, ask: listed.ask?.rule }).toEqual({ allow: true, ask: "ask-rm" });
    const unlisted = await decideCommand("rm x", p, fx.env({ extraAllowed: ["ls"] }));
    expect({ allow: unlisted.allow, rule: unlisted.rule }).toEqual({ allow: false, rule: "commands.default_deny" });
  });

  test("input to a running shell cannot wait for approval: what an ask rule matches is denied there", async () => {
    const p = policyWith({ shells: ["sh"], allow: [{ program: "ls" }], ask: [ASK_RM] });
    expect(await decideProcessInput("ls\n", "/bin/sh", p, fx.env())).toMatchObject({ allow: true });
    const d = await decideProcessInput("rm x\n", "/bin/sh", p, fx.env());
    expect(d).toMatchObject({ allow: false, rule: "ask-rm" });
    expect(d.reason).toMatch(/execute_command/);
  });

  test("ask rules are shaped like deny rules: args_allow is refused with a message naming the fix", () => {
    const r = policySchema.safeParse({ commands: { ask: [{ program: "git", args_allow: ["^push"] }] } });
    expect(r.success).toBe(false);
    expect(JSON.stringify(r.error?.issues)).toMatch(/ask rule names what needs approval with args_deny/);
  });
});

describe("filesystem.ask globs (matched like deny globs, a directory covers what is below it)", () => {
  const CASES: [string[], string, string | null][] = [
    [["secrets/**"], "secrets/a.txt", "secrets/**"],
    [["secrets/**"], "src/secrets.txt", null],
    [["secrets"], "secrets/deep/a.txt", "secrets"],
    [["**/*.lock"], "a/b/package.lock", "**/*.lock"],
    [["**/*.lock"], "a/b/lock", null],
    [[], "anything", null],
    [["**/.github/**"], ".github/workflows/ci.yml", "**/.github/**"],
  ];
  test.each(CASES)("%j %s -> %s", (globs, rel, hit) => {
    expect(askGlobFor(globs, rel)).toBe(hit);
  });
});
