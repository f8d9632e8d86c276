import { z } from "zod";

// Owned by the command-policy work (issue 3). Shape of the `commands` section.
// The language is explained with examples in docs/POLICY-COMMANDS.md.

const regexList = (what: string) =>
  z
    .array(z.string())
    .default([])
    .refine((list) => list.every(compiles), { message: "every entry must be a valid JavaScript regular expression" })
    .describe(what);

function compiles(source: string): boolean {
  try {
    new RegExp(source);
    return true;
  } catch {
    return false;
  }
}

export const commandRuleSchema = z
  .object({
    program: z
      .string()
      .min(1)
      .regex(/^(\*|[A-Za-z0-9._+-]+|\[)$/, "a bare program name (no path, no spaces) or `*`")
      .describe("Program name resolved on trusted_path (e.g. `git`), or `*` for any program."),
    args_deny: regexList(
      "Regular expressions tested against each argument and against all arguments joined by one space; a match denies the command (in a deny rule: the rule applies only then). Arguments must then be literal.",
    ),
    args_allow: regexList(
      "Allow rules only: regular expressions; when given, the arguments joined by one space must match at least one, else this rule does not allow. Anchor them (`^status( |$)`). Arguments must then be literal.",
    ),
    name: z.string().min(1).optional().describe("Rule name reported in decisions; defaults to commands.allow[i] / commands.deny[i]."),
  })
  .strict();

/** Environment names a command may set inline, in `env NAME=...` or with `export`; others are refused. */
export const DEFAULT_ENV_ASSIGN_ALLOW = [
  "CI",
  "NODE_ENV",
  "DEBUG",
  "NO_COLOR",
  "FORCE_COLOR",
  "TERM",
  "TZ",
  "LANG",
  "LANGUAGE",
  "LC_*",
  "COLUMNS",
  "LINES",
  "RUST_BACKTRACE",
  "RUST_LOG",
  "PYTHONUNBUFFERED",
  "PYTHONDONTWRITEBYTECODE",
  "GIT_AUTHOR_NAME",
  "GIT_AUTHOR_EMAIL",
  "GIT_AUTHOR_DATE",
  "GIT_COMMITTER_NAME",
  "GIT_COMMITTER_EMAIL",
  "GIT_COMMITTER_DATE",
];

/** Shell builtins that change no program lookup and run nothing; allowed without an allow rule. */
export const DEFAULT_BUILTINS = [
  "cd",
  "pushd",
  "popd",
  ":",
  "exit",
  "return",
  "break",
  "continue",
  "shift",
  "wait",
  "set",
  "read",
  "export",
  "unset",
  "type",
  "umask",
];

export const commandsSchema = z
  .object({
    trusted_path: z
      .array(z.string().startsWith("/"))
      .default(["/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"])
      .describe("The only directories program names are resolved in. The caller's PATH is never used."),
    allow: z.array(commandRuleSchema).default([]).describe("Programs execute_command may run. The first rule that accepts decides."),
    deny: z.array(commandRuleSchema).default([]).describe("Programs or argument patterns that are always denied. Deny beats ask beats allow."),
    ask: z
      .array(commandRuleSchema)
      .default([])
      .describe(
        "Shaped like deny rules: a matching command waits for a human (MCP elicitation, else the operator queue) and runs only when approved. A rule with only `program` asks for every use of it. Deny beats ask beats allow; an ask rule also lets a program no allow rule names run once approved (not with --allow: the --allow list still decides which programs may run).",
      ),
    shells: z
      .array(z.string().regex(/^[A-Za-z0-9._+-]+$/))
      .default([])
      .describe(
        "Shells (sh, bash, ...) allowed to run a script given to them (-c, a file, a heredoc or a pipe). Empty: none. Listing `sh` also allows eval, source and `.`, which are the same thing.",
      ),
    builtins: z
      .array(z.string().min(1))
      .default(DEFAULT_BUILTINS)
      .describe(
        "Shell builtins allowed without an allow rule. eval, source, ., trap, alias, builtin, enable, hash, declare/typeset/local/let, mapfile and coproc are never allowed here.",
      ),
    env_assign_allow: z
      .array(z.string().min(1))
      .default(DEFAULT_ENV_ASSIGN_ALLOW)
      .describe(
        "Variables a command may set with `NAME=value cmd`, `env NAME=value cmd` or `export` (globs like LC_*). Everything else, PATH, LD_* and GIT_* included, is denied.",
      ),
  })
  .strict()
  .refine((c) => c.deny.every((r) => r.args_allow.length === 0), {
    message: "args_allow belongs in allow rules; a deny rule names what it denies with args_deny",
    path: ["deny"],
  })
  .refine((c) => c.ask.every((r) => r.args_allow.length === 0), {
    message: "args_allow belongs in allow rules; an ask rule names what needs approval with args_deny (the arguments that make it ask)",
    path: ["ask"],
  });

export type CommandsPolicy = z.infer<typeof commandsSchema>;
export type CommandRule = z.infer<typeof commandRuleSchema>;
