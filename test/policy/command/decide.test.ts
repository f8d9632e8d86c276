import { afterAll, describe, expect, test } from "vitest";
import { decideCommand, decideProcessInput, decideProgram, formatCheck } from "../../../src/policy/command/index.js";
import { commandsSchema, policySchema, type Policy } from "../../../src/policy/schema/index.js";
import { CORPUS_POLICY_INPUT, makeCorpusFixture } from "./fixture.js";

const fx = makeCorpusFixture();
afterAll(() => fx.cleanup());

/** The corpus policy with its commands section replaced (trusted_path kept on the fixture). */
function withCommands(commands: Record<string, unknown>, filesystem: Record<string, unknown> = {}): Policy {
  return policySchema.parse({
    filesystem: { ...CORPUS_POLICY_INPUT.filesystem, ...filesystem },
    commands: { trusted_path: [fx.bin], ...commands },
  });
}

const decide = (input: string, policy: Policy = fx.policy, extraAllowed: string[] = []) =>
  decideCommand(fx.fill(input), policy, fx.env({ extraAllowed }));

describe("plans: what runs is what was checked", () => {
  const CASES: [string, "argv" | "script", string[]?][] = [
    ["git status", "argv", ["{bin}/git", "status"]],
    ["git commit -m 'two words'", "argv", ["{bin}/git", "commit", "-m", "two words"]],
    ["ls \"a b\" c\\ d", "argv", ["{bin}/ls", "a b", "c d"]],
    ["{bin}/ls -la", "argv", ["{bin}/ls", "-la"]],
    ["timeout 5 ls", "argv", ["{bin}/timeout", "5", "ls"]],
    ["ls *.ts", "script"],
    ["ls $HOME", "script"],
    ["ls > out.txt", "script"],
    ["ls | head", "script"],
    ["ls &", "script"],
    ["! ls", "script"],
    ["CI=1 ls", "script"],
    ["cd src", "script"],
    ["exec ls", "script"],
    ["command ls", "script"],
    ["ls; ls", "script"],
  ];
  test.each(CASES)("%s -> %s", async (input, kind, argv) => {
    const d = await decide(input);
    expect(d.allow).toBe(true);
    expect(d.plan?.kind).toBe(kind);
    if (d.plan?.kind === "argv") expect(d.plan.argv).toEqual(argv!.map(fx.fill));
    if (d.plan?.kind === "script") {
      expect(d.plan.script).toBe(fx.fill(input));
      expect(d.plan.shell).toBe(`${fx.bin}/sh`);
    }
  });

  test("without sh on the trusted PATH a script cannot run", async () => {
    const env = fx.env();
    const noSh = { ...env, resolveProgram: (n: string) => (n === "sh" ? null : env.resolveProgram(n)) };
    const d = await decideCommand("ls | head", fx.policy, noSh);
    expect(d).toMatchObject({ allow: false, rule: "no_shell" });
  });
});

describe("rules: deny beats allow, no match denies, every decision names its rule", () => {
  const CASES: [string, Record<string, unknown>, string, boolean, string][] = [
    ["empty allow list denies", { allow: [] }, "ls", false, "commands.default_deny"],
    ["allow rule by name", { allow: [{ program: "ls" }] }, "ls", true, "commands.allow[0]"],
    ["named rule", { allow: [{ program: "ls", name: "listing" }] }, "ls", true, "listing"],
    ["deny beats allow", { allow: [{ program: "ls" }], deny: [{ program: "ls" }] }, "ls", false, "commands.deny[0]"],
    ["deny * beats everything", { allow: [{ program: "*" }], deny: [{ program: "*" }] }, "ls", false, "commands.deny[0]"],
    ["allow * allows any found program", { allow: [{ program: "*" }] }, "id", true, "commands.allow[0]"],
    ["allow * still refuses runners", { allow: [{ program: "*" }] }, "sudo id", false, "wrapper:sudo"],
    ["allow * still refuses shells", { allow: [{ program: "*" }] }, "sh -c id", false, "shell_script"],
    ["deny args pattern", { allow: [{ program: "git" }], deny: [{ program: "git", args_deny: ["^push"] }] }, "git push", false, "commands.deny[0]"],
    ["deny args pattern no match", { allow: [{ program: "git" }], deny: [{ program: "git", args_deny: ["^push"] }] }, "git status", true, "commands.allow[0]"],
    ["deny args needs literal args", { allow: [{ program: "rm" }], deny: [{ program: "rm", args_deny: ["^-rf$"] }] }, "rm $X", false, "dynamic_argument"],
    ["args_deny on the allow rule", { allow: [{ program: "rm", args_deny: ["^/"] }] }, "rm /etc/x", false, "commands.allow[0]"],
    ["args_allow accepts", { allow: [{ program: "git", args_allow: ["^(status|log)( |$)"] }] }, "git log -1", true, "commands.allow[0]"],
    ["args_allow rejects", { allow: [{ program: "git", args_allow: ["^(status|log)( |$)"] }] }, "git push", false, "commands.allow[0]"],
    ["a later rule can accept", { allow: [{ program: "git", args_allow: ["^status$"] }, { program: "git", args_allow: ["^log"] }] }, "git log", true, "commands.allow[1]"],
    ["args_allow needs literal args", { allow: [{ program: "git", args_allow: ["^status"] }] }, "git status $X", false, "dynamic_argument"],
    ["shells list allows a shell", { allow: [], shells: ["bash"] }, "bash -c 'anything'", true, "commands.shells"],
    ["shells list is per shell", { allow: [], shells: ["bash"] }, "sh -c x", false, "shell_script"],
    ["sh in shells allows eval", { allow: [{ program: "ls" }], shells: ["sh"] }, "eval ls", true, "commands.shells"],
    ["deny rule beats shells", { allow: [], shells: ["bash"], deny: [{ program: "bash" }] }, "bash", false, "commands.deny[0]"],
    ["builtins can be withdrawn", { allow: [{ program: "ls" }], builtins: [] }, "cd src && ls", false, "builtin_not_allowed"],
    ["deny rule on a builtin", { allow: [{ program: "ls" }], deny: [{ program: "cd" }] }, "cd src", false, "commands.deny[0]"],
    ["env_assign_allow widens", { allow: [{ program: "ls" }], env_assign_allow: ["MY_*"] }, "MY_FLAG=1 ls", true, "commands.allow[0]"],
    ["env_assign_allow never admits PATH", { allow: [{ program: "ls" }], env_assign_allow: ["*"] }, "PATH=/tmp ls", false, "env_assignment"],
    ["env_assign_allow never admits LD_*", { allow: [{ program: "ls" }], env_assign_allow: ["*"] }, "LD_PRELOAD=x ls", false, "env_assignment"],
    ["wrapper needs no rule of its own", { allow: [{ program: "ls" }] }, "nice ls", true, "commands.allow[0]"],
    ["a deny rule on a wrapper holds", { allow: [{ program: "ls" }], deny: [{ program: "nice" }] }, "nice ls", false, "commands.deny[0]"],
    ["deny rule reaches through wrappers", { allow: [{ program: "rm" }, { program: "find" }], deny: [{ program: "rm" }] }, "find . -delete", false, "commands.deny[0]"],
  ];
  test.each(CASES)("%s", async (_name, commands, input, allowed, rule) => {
    const d = await decide(input, withCommands(commands));
    expect({ allow: d.allow, rule: d.rule }).toEqual({ allow: allowed, rule });
  });

  test.each([
    ["a deny rule names the argument and the pattern", { allow: [{ program: "rm" }], deny: [{ program: "rm", args_deny: ["^/+$"], name: "no-rm-root" }] }, "rm -rf /", 'rm: argument "/" matches denied pattern /^/+$/ of no-rm-root'],
    ["a pattern over the joined arguments names them all", { allow: [{ program: "git" }], deny: [{ program: "git", args_deny: ["^push .*--force"] }] }, "git push origin --force", 'git: the arguments "push origin --force" match denied pattern /^push .*--force/ of commands.deny[0]'],
    ["args_deny of an allow rule", { allow: [{ program: "rm", args_deny: ["^/etc"] }] }, "rm -f /etc/x", 'rm: argument "/etc/x" matches args_deny pattern /^/etc/ of commands.allow[0]'],
  ] as const)("%s", async (_name, commands, input, reason) => {
    const d = await decide(input, withCommands(commands));
    expect(d.allow).toBe(false);
    expect(d.reason).toBe(reason);
  });

  test("xargs cannot feed arguments to a program whose rule reads them", async () => {
    const d = await decide("cat list | xargs rm", withCommands({ allow: [{ program: "cat" }, { program: "rm", args_deny: ["^/"] }] }));
    expect(d).toMatchObject({ allow: false, rule: "wrapper:xargs" });
  });

  test("every verdict is listed, the first denial decides", async () => {
    const d = await decide("ls; id; sudo x");
    expect(d.rule).toBe("commands.default_deny");
    expect(d.commands?.map((c) => [c.program, c.decision.allow])).toEqual([
      ["ls", true],
      ["id", false],
      ["sudo", false],
    ]);
  });
});

describe("--allow mode", () => {
  const CASES: [string, string[], boolean, string][] = [
    ["git status", ["git"], true, "--allow git"],
    ["ls", ["git"], false, "commands.default_deny"],
    ["timeout 5 git status", ["git"], false, "commands.default_deny"],
    ["timeout 5 git status", ["git", "timeout"], true, "--allow git"],
    ["cd src && git status", ["git"], true, "builtin:cd,--allow git"],
    ["sh -c 'git status'", ["git"], false, "shell_script"],
    ["sh -c 'anything'", ["sh"], true, "--allow sh"],
    ["eval ls", ["git"], false, "shell_eval"],
  ];
  test.each(CASES)("%s with --allow %j", async (input, extra, allowed, rule) => {
    const d = await decide(input, fx.policy, extra);
    expect({ allow: d.allow, rule: d.rule }).toEqual({ allow: allowed, rule });
  });
});

describe("roots", () => {
  test("a trusted PATH entry inside a writable root is not trusted", async () => {
    const policy = withCommands({ allow: [{ program: "*" }], trusted_path: [`${fx.root}/bin`, fx.bin] });
    const env = { ...fx.env(), resolveProgram: (n: string) => (n === "ls" ? `${fx.root}/bin/ls` : fx.env().resolveProgram(n)) };
    const d = await decideCommand("ls", policy, env);
    expect(d).toMatchObject({ allow: false, rule: "program_in_writable_root" });
  });

  test("a program path inside a read-only root is judged like any other", async () => {
    const d = await decideCommand(`${fx.root}/bin/ls`, fx.policy, fx.env({ roots: [{ path: fx.root, writable: false }] }));
    expect(d).toMatchObject({ allow: false, rule: "program_path_mismatch" });
  });

  test("redirections follow the cwd", async () => {
    const inRo = await decideCommand("echo x > new.txt", fx.policy, fx.env({ cwd: fx.ro }));
    expect(inRo).toMatchObject({ allow: false, rule: "redirect_read_only_root" });
    const inRoot = await decideCommand("echo x > new.txt", fx.policy, fx.env({ cwd: fx.root }));
    expect(inRoot.allow).toBe(true);
  });

  test("absolute targets stay judgeable after cd", async () => {
    const d = await decide("cd src && echo x > {root}/out.txt");
    expect(d.allow).toBe(true);
  });

  test("deny globs apply inside roots", async () => {
    const d = await decide("cat a.txt > sub/.env.local");
    expect(d).toMatchObject({ allow: false, rule: "filesystem.deny[1]" });
  });

  test.each(["cat a.txt > secrets/key", "cat < secrets/key", "cat a.txt > sub/secrets/deeper/key", "cat a.txt | tee secrets/key"])(
    "a denied directory hides what lies below it, as in the sandbox: %s",
    async (input) => {
      const policy = withCommands({ allow: [{ program: "cat" }, { program: "tee" }] }, { deny: ["**/*.pem", "**/secrets"] });
      expect(await decide(input, policy)).toMatchObject({ allow: false, rule: "filesystem.deny[1]" });
    },
  );
});

describe("decideProgram (check_command_exists)", () => {
  const CASES: [string, boolean, string, boolean][] = [
    ["git", true, "commands.allow[25]", true],
    ["id", false, "commands.default_deny", true],
    ["sh", false, "shell_script", true],
    ["sudo", false, "wrapper:sudo", false],
    ["nope-nothing", false, "program_not_found", false],
    ["gіt", false, "program_name", false],
    ["cd", true, "builtin:cd", false],
    ["eval", false, "shell_eval", false],
  ];
  test.each(CASES)("%s", (name, allowed, rule, exists) => {
    const d = decideProgram(name, fx.policy, fx.env());
    expect({ allow: d.allow, rule: d.rule, exists: d.path !== null }).toEqual({ allow: allowed, rule, exists });
  });

  test("a path resolves to its canonical file", () => {
    const d = decideProgram(`${fx.bin}/git`, fx.policy, fx.env());
    expect(d.allow).toBe(true);
    expect(d.path).not.toBeNull();
  });
});

describe("decideProcessInput (write_process_input)", () => {
  const CASES: [string, string, boolean, string][] = [
    ["python3", "import os; os.system('id')\n", true, "process_input_data"],
    ["/usr/bin/node", "anything at all", true, "process_input_data"],
    ["bash", "ls\n", true, "commands.allow[0]"],
    ["/bin/sh", "ls; id\n", false, "commands.default_deny"],
    ["sh", "gi", false, "incomplete_input"],
    ["sh", "echo 'open\n", false, "parse_error"],
    ["sh", "cat <<EOF\n", false, "parse_error"],
    ["dash", "echo $(id)\n", false, "commands.default_deny"],
  ];
  test.each(CASES)("%s <- %j", async (program, input, allowed, rule) => {
    const d = await decideProcessInput(input, program, fx.policy, fx.env());
    expect({ allow: d.allow, rule: d.rule }).toEqual({ allow: allowed, rule });
  });
});

describe("input hygiene", () => {
  const CASES: [string, string][] = [
    ["", "empty_command"],
    ["   \n ", "empty_command"],
    ["ls\u001b[2J", "control_character"],
    ["ls\u0000", "control_character"],
    ["x".repeat(70_000), "command_too_long"],
    ["ls )", "parse_error"],
    ["a[$i]=1 ls", "parse_error"],
  ];
  test.each(CASES)("%j -> %s", async (input, rule) => {
    const d = await decideCommand(input, fx.policy, fx.env());
    expect({ allow: d.allow, rule: d.rule }).toEqual({ allow: false, rule });
  });
});

describe("formatCheck", () => {
  test("allow: verdict, rule, each command, how it runs", async () => {
    const text = formatCheck(await decide("git status"));
    expect(text.split("\n")[0]).toBe("allow: commands.allow[25]: git is allowed by commands.allow[25]");
    expect(text).toContain(`run: ${fx.bin}/git status`);
  });

  test("deny: names the rule first, lists the command that failed", async () => {
    const text = formatCheck(await decide("ls && sudo rm -rf /"));
    expect(text.startsWith("deny: wrapper:sudo: ")).toBe(true);
    expect(text).toMatch(/allow ls +\[commands\.allow\[0\]\]/);
    expect(text).toMatch(/deny +sudo +\[wrapper:sudo\]/);
    expect(text).not.toContain("run:");
  });

  test("script plans do not echo the script", async () => {
    const text = formatCheck(await decide("ls | head"));
    expect(text).toContain(`run: ${fx.bin}/sh -c <the checked script>`);
  });

  test("odd argv words are quoted", async () => {
    expect(formatCheck(await decide("ls 'a b'"))).toContain(`run: ${fx.bin}/ls 'a b'`);
  });
});

describe("commands schema", () => {
  test("defaults: nothing allowed, no shells, safe builtins, safe env names", () => {
    const c = commandsSchema.parse({});
    expect(c.allow).toEqual([]);
    expect(c.shells).toEqual([]);
    expect(c.builtins).toContain("cd");
    expect(c.builtins).not.toContain("eval");
    expect(c.env_assign_allow).not.toContain("PATH");
  });

  const BAD: [string, unknown][] = [
    ["invalid regex", { allow: [{ program: "git", args_deny: ["("] }] }],
    ["path as program", { allow: [{ program: "/usr/bin/git" }] }],
    ["spaces in program", { allow: [{ program: "git status" }] }],
    ["unknown field", { allow: [{ program: "git", args: ["x"] }] }],
    ["unknown section field", { allowed: [] }],
    ["relative trusted path", { trusted_path: ["bin"] }],
    ["shell with a path", { shells: ["/bin/sh"] }],
    ["args_allow in a deny rule", { deny: [{ program: "git", args_allow: ["^push"] }] }],
  ];
  test.each(BAD)("rejects %s", (_name, input) => {
    expect(commandsSchema.safeParse(input).success).toBe(false);
  });

  test("every field is described", () => {
    const shape = commandsSchema.shape as Record<string, { description?: string }>;
    for (const [key, field] of Object.entries(shape)) expect(field.description, key).toBeTruthy();
  });
});
