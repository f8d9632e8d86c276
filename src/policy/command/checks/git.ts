import { isShortBundle, longOption, longValue, refuse, type CheckOutcome } from "./outcome.js";

/** Global options of git that take their value as the next argument. */
const GLOBAL_WITH_VALUE = new Set(["-C", "--git-dir", "--work-tree", "--namespace", "--super-prefix", "--attr-source", "--list-cmds"]);

/** Config keys that name a program git runs, or that pull in more config. */
const DANGEROUS_KEY =
  /^(core\.(pager|sshcommand|editor|fsmonitor|hookspath|gitproxy|askpass|alternaterefscommand)|alias\.|sequence\.editor|gpg\.|credential\.|uploadpack\.|receivepack\.|filter\.|diff\.external|pager\.|web\.browser|browser\.|man\.|include\.|includeif\.|remote\..*\.(uploadpack|receivepack|vcs|proxy)|protocol\.|http\..*proxy|.*\.(command|cmd|textconv|driver|helper|path|program|tool)$)/i;

/** Subcommands that exist to run a command or a server. */
const RUNNING_SUBCOMMANDS = new Set(["filter-branch", "instaweb", "send-email", "web--browse", "daemon", "upload-pack", "receive-pack", "shell", "remote-ext", "remote-fd", "credential-cache--daemon"]);

const EXEC_OPTIONS = ["upload-pack", "receive-pack", "exec", "extcmd", "open-files-in-pager", "config-env", "config"];

/**
 * git runs other programs through config (-c, --config-env, config keys), through options
 * (--upload-pack, --exec, difftool -x, grep -O, rebase -x), remote helpers (ext::) and bisect run.
 * Config written into a repository inside a writable root is out of reach here: that is what the
 * OS confinement is for.
 */
export function checkGit(args: string[]): CheckOutcome {
  let i = 0;
  for (; i < args.length && args[i]!.startsWith("-"); i++) {
    const a = args[i]!;
    if (a.startsWith("-c") || longOption(a, ["config-env"])) return refuse("wrapper:git-config", `git ${a}: setting config on the command line is denied`);
    if (a.startsWith("--exec-path=")) return refuse("wrapper:git-exec", "git --exec-path=DIR runs git commands from DIR");
    if (GLOBAL_WITH_VALUE.has(a)) i++;
  }
  const sub = args[i] ?? "";
  const rest = args.slice(i + 1);
  const writes: { path: string; what: string }[] = [];
  for (let j = 0; j < args.length; j++) {
    const a = args[j]!;
    if (/^(ext|fd)::/.test(a) || /(^|[\s=])ext::/.test(a)) return refuse("wrapper:git-exec", "git remote helpers ext:: and fd:: run commands");
    const long = longOption(a, EXEC_OPTIONS);
    if (long) return refuse(long.startsWith("config") ? "wrapper:git-config" : "wrapper:git-exec", `git ${sub}: --${long} runs a program or sets config`);
    if (longOption(a, ["output", "output-directory"])) {
      const value = longValue(args, j);
      if (value !== undefined) writes.push({ path: value, what: `git ${a.split("=")[0]}` });
    }
  }
  if (RUNNING_SUBCOMMANDS.has(sub)) return refuse("wrapper:git-exec", `git ${sub} runs commands or servers`);
  const shorts = rest.filter(isShortBundle);
  if (["clone", "fetch", "pull", "ls-remote", "archive", "submodule"].includes(sub) && shorts.some((a) => a.startsWith("-u"))) {
    return refuse("wrapper:git-exec", `git ${sub} -u sets the upload-pack program`);
  }
  if (sub === "clone" && shorts.some((a) => a.startsWith("-c"))) return refuse("wrapper:git-config", "git clone -c sets config for the new repository");
  if (["rebase", "difftool", "mergetool"].includes(sub) && shorts.some((a) => a.includes("x"))) return refuse("wrapper:git-exec", `git ${sub} -x runs a command`);
  if (sub === "grep" && shorts.some((a) => a.includes("O"))) return refuse("wrapper:git-exec", "git grep -O runs a pager program");
  if (sub === "help" && rest.some((a) => /^-[^-]*[wm]/.test(a) || longOption(a, ["web", "man"]))) return refuse("wrapper:git-exec", "git help -w/-m runs a configured browser or man viewer");
  if (sub === "submodule" && rest.includes("foreach")) return refuse("wrapper:git-exec", "git submodule foreach runs a shell command");
  const reading = rest.some((a) => /^--(get|get-all|get-regexp|get-urlmatch|list)$/.test(a) || a === "-l" || a === "get" || a === "list");
  if (sub === "config" && !reading && rest.some((a) => !a.startsWith("-") && DANGEROUS_KEY.test(a))) {
    return refuse("wrapper:git-config", "git config of a key that names a program (or includes more config) is denied");
  }
  if (sub === "format-patch") {
    const o = rest.findIndex((a) => a === "-o");
    if (o >= 0 && rest[o + 1] !== undefined) writes.push({ path: rest[o + 1]!, what: "git format-patch -o" });
  }
  if (sub === "bisect" && rest[0] === "run") {
    if (rest.length < 2) return {};
    return { inner: [{ argv: rest.slice(1), appended: false, via: "git bisect run" }], writes };
  }
  return { writes };
}
