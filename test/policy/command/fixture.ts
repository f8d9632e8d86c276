import { accessSync, chmodSync, constants, existsSync, mkdirSync, mkdtempSync, realpathSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { CommandEnvironment } from "../../../src/policy/command/types.js";
import { policySchema, type Policy } from "../../../src/policy/schema/index.js";

/**
 * A real tree for command-policy tests (and for the end-to-end run of the same corpus):
 *
 *   DIR/bin/        the trusted PATH: symlinks to this machine's programs, plus stubs
 *   DIR/bin/pwn     NOT allowed by the corpus policy; if it ever runs it creates DIR/outside/canary
 *   DIR/root/       the read-write root and working directory; holds agent-written look-alikes
 *                   (root/git, root/bin/ls, root/pwn.sh) that would run pwn
 *   DIR/ro/         a read-only root
 *   DIR/outside/    outside every root: secret.txt, and where the canary would appear
 */
export interface CorpusFixture {
  dir: string;
  bin: string;
  root: string;
  ro: string;
  outside: string;
  canary: string;
  policy: Policy;
  env(over?: Partial<Pick<CommandEnvironment, "cwd" | "extraAllowed" | "roots">>): CommandEnvironment;
  /** Replaces {root} {ro} {outside} {canary} {bin} in a corpus input. */
  fill(input: string): string;
  cleanup(): void;
}

/** Programs linked from this machine when present; a stub stands in for the rest. */
const LINKED = [
  "git", "node", "npm", "npx", "python3", "perl", "awk", "mawk", "sed", "tar", "zip", "find", "xargs", "env",
  "timeout", "nice", "nohup", "stdbuf", "setsid", "ionice", "tee", "sort", "uniq", "rg", "grep", "ls", "cat", "head",
  "tail", "wc", "cut", "tr", "diff", "echo", "printf", "pwd", "true", "false", "sleep", "date", "mkdir", "touch",
  "cp", "mv", "rm", "make", "test", "[", "id", "whoami", "curl", "wget", "chmod", "sh", "bash", "dash", "busybox",
  "ssh", "scp", "base64", "xxd", "od", "man", "less", "more",
];
const STUBS = ["rsync", "gawk", "tsc", "ruby"];

/** The corpus policy: the default policy's shape, plus the tools the corpus exercises. */
export const CORPUS_POLICY_INPUT = {
  filesystem: { deny: ["**/.env", "**/.env.*", "**/*.pem", "**/.ssh/**", "**/.git-credentials"] },
  commands: {
    allow: [
      "ls", "cat", "head", "tail", "wc", "sort", "uniq", "cut", "tr", "diff", "grep", "rg", "find", "echo", "printf",
      "pwd", "true", "false", "sleep", "date", "mkdir", "touch", "cp", "mv", "rm", "git", "node", "npm", "npx",
      "python3", "make", "tsc", "tar", "rsync", "zip", "awk", "mawk", "gawk", "sed", "tee", "test", "[", "perl",
      "base64",
    ].map((program) => ({ program })),
    deny: [{ program: "git", args_deny: ["^push( .*)? (--force|-f)( |$)"], name: "no-force-push" }],
  },
};

export function makeCorpusFixture(): CorpusFixture {
  const dir = realpathSync(mkdtempSync(join(tmpdir(), "warden-cmd-")));
  const bin = join(dir, "bin");
  const root = join(dir, "root");
  const ro = join(dir, "ro");
  const outside = join(dir, "outside");
  const canary = join(outside, "canary");
  for (const d of [bin, root, ro, outside, join(root, "bin"), join(root, "src")]) mkdirSync(d, { recursive: true });
  for (const name of LINKED) {
    const real = ["/usr/bin", "/bin", "/usr/local/bin"].map((d) => join(d, name)).find((p) => existsSync(p));
    if (real) symlinkSync(real, join(bin, name));
    else stub(join(bin, name));
  }
  for (const name of STUBS) stub(join(bin, name));
  const pwn = `#!/bin/sh\necho pwned > '${canary}'\n`;
  script(join(bin, "pwn"), pwn);
  // Agent-written look-alikes inside the writable root.
  script(join(root, "git"), pwn);
  script(join(root, "bin", "ls"), pwn);
  script(join(root, "pwn.sh"), pwn);
  writeFileSync(join(root, "a.txt"), "hello\n");
  writeFileSync(join(root, "src", "index.ts"), "export const foo = 1;\n");
  writeFileSync(join(root, ".env"), "TOKEN=inside-root-secret\n");
  writeFileSync(join(ro, "readme.txt"), "read only\n");
  writeFileSync(join(outside, "secret.txt"), "TOPSECRET\n");
  const policy = policySchema.parse({ ...CORPUS_POLICY_INPUT, commands: { ...CORPUS_POLICY_INPUT.commands, trusted_path: [bin] } });
  const trusted = policy.commands.trusted_path;
  const env = (over: Partial<Pick<CommandEnvironment, "cwd" | "extraAllowed" | "roots">> = {}): CommandEnvironment => ({
    resolveProgram: (name) => resolveOn(trusted, name),
    canonicalProgramPath: (path, cwd) => canonicalFile(resolve(cwd, path)),
    roots: over.roots ?? [
      { path: root, writable: true },
      { path: ro, writable: false },
    ],
    cwd: over.cwd ?? root,
    extraAllowed: over.extraAllowed ?? [],
  });
  const fill = (input: string) =>
    input.replaceAll("{root}", root).replaceAll("{ro}", ro).replaceAll("{outside}", outside).replaceAll("{canary}", canary).replaceAll("{bin}", bin);
  return { dir, bin, root, ro, outside, canary, policy, env, fill, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** What the bridge does for real: the first executable regular file named `name` on the trusted PATH. */
export function resolveOn(dirs: string[], name: string): string | null {
  if (name.includes("/") || name === "" || name === "." || name === "..") return null;
  for (const d of dirs) {
    const p = join(d, name);
    try {
      if (statSync(p).isFile()) {
        accessSync(p, constants.X_OK);
        return p;
      }
    } catch {
      // not here
    }
  }
  return null;
}

export function canonicalFile(path: string): string | null {
  try {
    const real = realpathSync(path);
    return statSync(real).isFile() ? real : null;
  } catch {
    return null;
  }
}

function stub(path: string): void {
  script(path, "#!/bin/sh\nexit 0\n");
}

function script(path: string, text: string): void {
  writeFileSync(path, text);
  chmodSync(path, 0o755);
}
