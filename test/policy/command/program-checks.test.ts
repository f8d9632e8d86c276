import { describe, expect, test } from "vitest";
import { CHECKERS, WRAPPERS } from "../../../src/policy/command/checks/index.js";

/** [program, args, expected: a deny rule, or "ok"] */
const CHECKS: [string, string[], string][] = [
  // git
  ["git", ["status"], "ok"],
  ["git", ["log", "--oneline", "--color=always"], "ok"],
  ["git", ["-C", "src", "log"], "ok"],
  ["git", ["--git-dir=.git", "status"], "ok"],
  ["git", ["--exec-path"], "ok"],
  ["git", ["commit", "-c", "HEAD"], "ok"],
  ["git", ["grep", "-c", "foo"], "ok"],
  ["git", ["add", "-u"], "ok"],
  ["git", ["config", "user.email", "a@b"], "ok"],
  ["git", ["config", "--get", "core.pager"], "ok"],
  ["git", ["diff", "--cached"], "ok"],
  ["git", ["ls-files", "--exclude-standard"], "ok"],
  ["git", ["-c", "core.pager=x", "log"], "wrapper:git-config"],
  ["git", ["-ccore.pager=x", "log"], "wrapper:git-config"],
  ["git", ["--config-env", "core.pager=X", "log"], "wrapper:git-config"],
  ["git", ["--config-env=core.pager=X", "log"], "wrapper:git-config"],
  ["git", ["clone", "--config", "core.sshCommand=x", "u"], "wrapper:git-config"],
  ["git", ["clone", "--conf=core.sshCommand=x", "u"], "wrapper:git-config"],
  ["git", ["clone", "-c", "core.sshCommand=x", "u"], "wrapper:git-config"],
  ["git", ["config", "core.sshCommand", "x"], "wrapper:git-config"],
  ["git", ["config", "alias.x", "!sh"], "wrapper:git-config"],
  ["git", ["config", "core.hooksPath", "."], "wrapper:git-config"],
  ["git", ["config", "diff.x.textconv", "sh"], "wrapper:git-config"],
  ["git", ["config", "filter.x.clean", "sh"], "wrapper:git-config"],
  ["git", ["config", "include.path", "../x"], "wrapper:git-config"],
  ["git", ["config", "credential.helper", "!sh"], "wrapper:git-config"],
  ["git", ["--exec-path=/tmp", "status"], "wrapper:git-exec"],
  ["git", ["fetch", "--upload-pack=x"], "wrapper:git-exec"],
  ["git", ["fetch", "--upload-p", "x"], "wrapper:git-exec"],
  ["git", ["push", "--receive-pack=x"], "wrapper:git-exec"],
  ["git", ["ls-remote", "-u", "x", "u"], "wrapper:git-exec"],
  ["git", ["pull", "-ux"], "wrapper:git-exec"],
  ["git", ["archive", "--remote=u", "--exec=x"], "wrapper:git-exec"],
  ["git", ["clone", "ext::sh -c id", "d"], "wrapper:git-exec"],
  ["git", ["fetch", "fd::3"], "wrapper:git-exec"],
  ["git", ["rebase", "-x", "id", "HEAD~2"], "wrapper:git-exec"],
  ["git", ["rebase", "-ix", "id"], "wrapper:git-exec"],
  ["git", ["difftool", "--extcmd=id"], "wrapper:git-exec"],
  ["git", ["mergetool", "-x", "id"], "wrapper:git-exec"],
  ["git", ["grep", "-O", "foo"], "wrapper:git-exec"],
  ["git", ["grep", "-nOid", "foo"], "wrapper:git-exec"],
  ["git", ["grep", "--open-files-in-pager=id", "foo"], "wrapper:git-exec"],
  ["git", ["submodule", "foreach", "id"], "wrapper:git-exec"],
  ["git", ["filter-branch", "--tree-filter", "id"], "wrapper:git-exec"],
  ["git", ["instaweb"], "wrapper:git-exec"],
  ["git", ["send-email", "x.patch"], "wrapper:git-exec"],
  ["git", ["help", "-w", "log"], "wrapper:git-exec"],
  ["git", ["help", "--man", "log"], "wrapper:git-exec"],
  // find
  ["find", [".", "-name", "*.ts"], "ok"],
  ["find", [".", "-exec", "grep", "x", "{}", ";"], "ok"],
  ["find", [".", "-exec", "grep", "x", "{}", "+"], "ok"],
  ["find", [".", "-exec", "grep", "x"], "wrapper:find-exec"],
  ["find", [".", "-exec", ";"], "wrapper:find-exec"],
  ["find", [".", "-exec", "{}", ";"], "wrapper:find-exec"],
  ["find", [".", "-execdir", "./{}", ";"], "wrapper:find-exec"],
  ["find", [".", "-fprintf"], "wrapper:find-write"],
  // tar
  ["tar", ["-czf", "out.tgz", "src"], "ok"],
  ["tar", ["czf", "out.tgz", "src"], "ok"],
  ["tar", ["-xf", "a.tar", "--checkpoint=10"], "ok"],
  ["tar", ["--to-command=sh", "-xf", "a.tar"], "wrapper:tar-exec"],
  ["tar", ["--to-com=sh", "-xf", "a.tar"], "wrapper:tar-exec"],
  ["tar", ["--checkpoint-action=exec=sh"], "wrapper:tar-exec"],
  ["tar", ["--checkpoint-act=exec=sh"], "wrapper:tar-exec"],
  ["tar", ["--use-compress-program=sh", "-xf", "a"], "wrapper:tar-exec"],
  ["tar", ["-I", "sh", "-xf", "a"], "wrapper:tar-exec"],
  ["tar", ["-xf", "a", "-F", "sh"], "wrapper:tar-exec"],
  ["tar", ["--info-script=sh"], "wrapper:tar-exec"],
  ["tar", ["--rsh-command=sh", "-cf", "h:x"], "wrapper:tar-exec"],
  ["tar", ["-cf", "host:file", "x"], "wrapper:tar-exec"],
  ["tar", ["--force-local", "-cf", "a:b", "x"], "ok"],
  ["tar", ["-xPf", "a.tar"], "wrapper:tar-write"],
  ["tar", ["--absolute-names", "-xf", "a.tar"], "wrapper:tar-write"],
  // rsync
  ["rsync", ["-av", "src/", "dst/"], "ok"],
  ["rsync", ["-av", "--delete", "src/", "dst/"], "ok"],
  ["rsync", ["-e", "sh", "a", "b"], "wrapper:rsync-exec"],
  ["rsync", ["-avze", "sh", "a", "b"], "wrapper:rsync-exec"],
  ["rsync", ["--rsh=sh", "a", "b"], "wrapper:rsync-exec"],
  ["rsync", ["--rsync-path=sh", "a", "b"], "wrapper:rsync-exec"],
  ["rsync", ["-M--rsync-path=sh", "a", "b"], "wrapper:rsync-exec"],
  ["rsync", ["a", "host:b"], "wrapper:rsync-exec"],
  ["rsync", ["rsync://host/m", "b"], "wrapper:rsync-exec"],
  ["rsync", ["--log-file=/etc/x", "a", "b"], "wrapper:rsync-exec"],
  // zip
  ["zip", ["-r", "x.zip", "src"], "ok"],
  ["zip", ["x.zip", "a", "-T", "-TT", "sh #"], "wrapper:zip-exec"],
  ["zip", ["x.zip", "a", "--unzip-command=sh"], "wrapper:zip-exec"],
  // awk
  ["awk", ["{print $1}", "a.txt"], "ok"],
  ["awk", ["-F:", "/a|b/ {print $1}", "a.txt"], "ok"],
  ["awk", ["-v", "x=1", "$1 == x", "a.txt"], "ok"],
  ["awk", ["$1 > 3 { n++ } END { print n }"], "ok"],
  ["awk", ["BEGIN { x = (1 || 0) }"], "ok"],
  ["awk", ['{ gsub(/a|b/, "|"); print }'], "ok"],
  ["awk", ['BEGIN{system("id")}'], "wrapper:awk-exec"],
  ["awk", ['BEGIN{ system ("id") }'], "wrapper:awk-exec"],
  ["awk", ['BEGIN{print "id" | "sh"}'], "wrapper:awk-exec"],
  ["awk", ['BEGIN{"id" | getline}'], "wrapper:awk-exec"],
  ["awk", ['BEGIN{"id" |& getline}'], "wrapper:awk-exec"],
  ["awk", ['{ print > "/tmp/x" }'], "wrapper:awk-write"],
  ["awk", ['{ printf "%s", $0 >> "/tmp/x" }'], "wrapper:awk-write"],
  ["awk", ["-f", "prog.awk"], "wrapper:awk-exec"],
  ["awk", ["-fprog.awk"], "wrapper:awk-exec"],
  ["gawk", ["-l", "filefuncs", "BEGIN{}"], "wrapper:awk-exec"],
  ["gawk", ["--load=x", "BEGIN{}"], "wrapper:awk-exec"],
  ["gawk", ['@load "x"; BEGIN{}'], "wrapper:awk-exec"],
  ["gawk", ["-e", 'BEGIN{system("id")}'], "wrapper:awk-exec"],
  ["gawk", ["--source=BEGIN{system(\"id\")}"], "wrapper:awk-exec"],
  ["gawk", ["--sandbox", 'BEGIN{system("id")}'], "ok"],
  ["mawk", ["--sandbox", 'BEGIN{system("id")}'], "wrapper:awk-exec"],
  // sed
  ["sed", ["s/a/b/g", "x"], "ok"],
  ["sed", ["-n", "/foo/p", "x"], "ok"],
  ["sed", ["-E", "s|a|b|; s#c#d#g", "x"], "ok"],
  ["sed", ["-i", "s/a/b/", "x"], "ok"],
  ["sed", [":a;N;$!ba;s/\\n/ /g", "x"], "ok"],
  ["sed", ["1d;$d", "x"], "ok"],
  ["sed", ["/x/{s/a/b/;p}", "x"], "ok"],
  ["sed", ["y/abc/xyz/", "x"], "ok"],
  ["sed", ["a hello; e id", "x"], "ok"],
  ["sed", ["e id", "x"], "wrapper:sed-exec"],
  ["sed", ["1e id", "x"], "wrapper:sed-exec"],
  ["sed", ["/x/e id", "x"], "wrapper:sed-exec"],
  ["sed", ["s/x/id/e", "x"], "wrapper:sed-exec"],
  ["sed", ["s/x/id/ge", "x"], "wrapper:sed-exec"],
  ["sed", ["s/x/y/w /tmp/out", "x"], "wrapper:sed-exec"],
  ["sed", ["w /tmp/out", "x"], "wrapper:sed-exec"],
  ["sed", ["1!W /tmp/out", "x"], "wrapper:sed-exec"],
  ["sed", ["p;e id", "x"], "wrapper:sed-exec"],
  ["sed", ["b end; e id; :end", "x"], "wrapper:sed-exec"],
  ["sed", ["q; e id", "x"], "wrapper:sed-exec"],
  ["sed", ["-n", "-e", "p", "-e", "e id", "x"], "wrapper:sed-exec"],
  ["sed", ["-ne", "e id", "x"], "wrapper:sed-exec"],
  ["sed", ["--expression=e id", "x"], "wrapper:sed-exec"],
  ["sed", ["-f", "s.sed", "x"], "wrapper:sed-exec"],
  ["sed", ["--file=s.sed", "x"], "wrapper:sed-exec"],
  ["sed", ["s/unterminated", "x"], "wrapper:sed-exec"],
  ["sed", ["--sandbox", "e id", "x"], "ok"],
  // npm family
  ["npm", ["test"], "ok"],
  ["npm", ["run", "build", "--", "--watch"], "ok"],
  ["npm", ["exec", "-c", "id"], "wrapper:npm-exec"],
  ["npm", ["x", "--call=id"], "wrapper:npm-exec"],
  ["npm", ["test", "--script-shell=/tmp/x"], "wrapper:npm-exec"],
  ["npm", ["config", "set", "script-shell", "/tmp/x"], "wrapper:npm-exec"],
  ["npx", ["tsc", "--noEmit"], "ok"],
  ["npx", ["-c", "id"], "wrapper:npm-exec"],
  ["pnpm", ["dlx", "-c", "id"], "wrapper:npm-exec"],
  // rg, sort
  ["rg", ["-n", "foo", "src"], "ok"],
  ["rg", ["--pre-glob", "*.gz", "foo"], "ok"],
  ["rg", ["--pre", "sh", "foo"], "wrapper:rg-exec"],
  ["rg", ["--pre=sh", "foo"], "wrapper:rg-exec"],
  ["sort", ["-k2", "-n", "a"], "ok"],
  ["sort", ["--compress-program=sh", "a"], "wrapper:sort-exec"],
  ["sort", ["--compress=sh", "a"], "wrapper:sort-exec"],
  ["man", ["ls"], "ok"],
  ["man", ["-P", "sh", "ls"], "wrapper:man-exec"],
  ["man", ["-Psh", "ls"], "wrapper:man-exec"],
  ["man", ["--pager=sh", "ls"], "wrapper:man-exec"],
  ["man", ["-H", "ls"], "wrapper:man-exec"],
  ["less", ["-R", "a.txt"], "ok"],
  ["less", ["+!id", "a.txt"], "wrapper:pager-exec"],
  ["more", ["+/x", "a.txt"], "wrapper:pager-exec"],
];

describe("program checks", () => {
  test.each(CHECKS)("%s %j -> %s", (program, args, expected) => {
    const out = CHECKERS[program]!(args, program);
    expect(out.deny?.rule ?? "ok").toBe(expected);
  });
});

/** [program, args, expected writes] */
const WRITES: [string, string[], string[]][] = [
  ["tee", ["-a", "x", "y"], ["x", "y"]],
  ["tee", ["--", "-a"], ["-a"]],
  ["tee", [], []],
  ["sort", ["-o", "out", "a"], ["out"]],
  ["sort", ["-oout", "a"], ["out"]],
  ["sort", ["-uo", "out", "a"], ["out"]],
  ["sort", ["--output=out", "a"], ["out"]],
  ["sort", ["--out", "out", "a"], ["out"]],
  ["uniq", ["a"], []],
  ["uniq", ["-c", "a", "b"], ["b"]],
  ["uniq", ["-f", "1", "a", "b"], ["b"]],
  ["find", [".", "-fprint", "x"], ["x"]],
  ["find", [".", "-fprint0", "x"], ["x"]],
  ["find", [".", "-fls", "x"], ["x"]],
  ["find", [".", "-fprintf", "x", "%p"], ["x"]],
  ["git", ["log", "--output=x"], ["x"]],
  ["git", ["diff", "--output", "x"], ["x"]],
  ["git", ["format-patch", "-o", "d", "HEAD~1"], ["d"]],
  ["tar", ["-xf", "a.tar", "-C", "d"], ["d"]],
  ["tar", ["-xf", "a.tar", "--directory=d"], ["d"]],
  // an attached value, and -C at the end of a bundle
  ["tar", ["-xf", "a.tar", "-C/outside/d"], ["/outside/d"]],
  ["tar", ["-xvC/outside/d", "-f", "a.tar"], ["/outside/d"]],
  ["tar", ["-xzC", "d", "-f", "a.tgz"], ["d"]],
  // -fC: an archive named C (f takes the rest of the bundle), then a plain argument
  ["tar", ["-xfC", "d"], []],
  // an attached value is a path: its capital letters are not options (-I, -F, -P)
  ["tar", ["-xf", "a.tar", "-C/tmp/ImportFilesPath"], ["/tmp/ImportFilesPath"]],
  ["tar", ["-xfIF.tar"], []],
  ["tar", ["-cf", "out.tar", "src"], []],
  // old style: the letters' values are the next arguments, in order
  ["tar", ["xCf", "d", "a.tar"], ["d"]],
  ["tar", ["xfC", "a.tar", "d"], ["d"]],
  ["tar", ["xf", "a.tar"], []],
];

describe("files a program writes are reported for the path policy", () => {
  test.each(WRITES)("%s %j", (program, args, expected) => {
    const out = CHECKERS[program]!(args, program);
    expect(out.deny).toBeUndefined();
    expect((out.writes ?? []).map((w) => w.path)).toEqual(expected);
  });
});

/** [program, args, expected: inner argv, or a deny rule] */
const INNER: [string, string[], string[] | string][] = [
  ["find", [".", "-exec", "grep", "-l", "x", "{}", "+"], ["grep", "-l", "x", "{}"]],
  ["find", [".", "-delete"], ["rm"]],
  ["git", ["bisect", "run", "make", "test"], ["make", "test"]],
  ["env", ["ls"], ["ls"]],
  ["env", ["-i", "A=1", "ls", "-l"], ["ls", "-l"]],
  ["env", ["-u", "X", "--", "ls"], ["ls"]],
  ["env", ["-S", "ls -l"], "wrapper:env"],
  ["env", ["-Sls"], "wrapper:env"],
  ["env", ["--split-string=ls"], "wrapper:env"],
  ["env", ["-C", "/tmp", "ls"], "wrapper:env"],
  ["env", ["--chdir=/tmp", "ls"], "wrapper:env"],
  ["env", ["-P", "/tmp", "ls"], "wrapper:env"],
  ["timeout", ["5", "ls"], ["ls"]],
  ["timeout", ["-s", "KILL", "5", "ls"], ["ls"]],
  ["timeout", ["-sKILL", "-k", "1", "5", "ls"], ["ls"]],
  ["timeout", ["--preserve-status", "5", "ls"], ["ls"]],
  ["timeout", ["--kill-after=1", "5", "ls"], ["ls"]],
  ["timeout", ["-z", "5", "ls"], "wrapper:timeout"],
  ["nice", ["ls"], ["ls"]],
  ["nice", ["-n", "5", "ls"], ["ls"]],
  ["nice", ["-n5", "ls"], ["ls"]],
  ["nice", ["-5", "ls"], ["ls"]],
  ["nice", ["--adjustment=5", "ls"], ["ls"]],
  ["nice", ["-x", "ls"], "wrapper:nice"],
  ["nohup", ["ls"], ["ls"]],
  ["stdbuf", ["-oL", "ls"], ["ls"]],
  ["stdbuf", ["-o", "0", "-e", "0", "ls"], ["ls"]],
  ["stdbuf", ["--output=L", "ls"], ["ls"]],
  ["setsid", ["-w", "ls"], ["ls"]],
  ["setsid", ["--fork", "ls"], ["ls"]],
  ["time", ["-p", "ls"], ["ls"]],
  ["time", ["-f", "%e", "ls"], ["ls"]],
  ["time", ["-o", "/tmp/x", "ls"], "wrapper:time"],
  ["time", ["--output=/tmp/x", "ls"], "wrapper:time"],
  ["ionice", ["-c", "3", "ls"], ["ls"]],
  ["ionice", ["-p", "1"], "wrapper:ionice"],
  ["command", ["ls"], ["ls"]],
  ["command", ["-p", "ls"], "wrapper:command"],
  ["exec", ["ls"], ["ls"]],
  ["exec", ["-a", "x", "ls"], "wrapper:exec"],
  ["exec", ["-c", "ls"], "wrapper:exec"],
  ["busybox", ["sh", "-c", "id"], ["sh", "-c", "id"]],
  ["xargs", ["grep", "x"], ["grep", "x"]],
  ["xargs", [], ["echo"]],
  ["xargs", ["-0", "-n", "1", "rm"], ["rm"]],
  ["xargs", ["-n1", "-P4", "rm"], ["rm"]],
  ["xargs", ["-E", "END", "rm"], ["rm"]],
  ["xargs", ["--max-args=1", "rm"], ["rm"]],
  ["xargs", ["-a", "list", "rm"], ["rm"]],
  ["xargs", ["-I", "{}", "cp", "{}", "d"], ["cp", "{}", "d"]],
  ["xargs", ["-I{}", "{}"], "wrapper:xargs"],
  ["xargs", ["-I", "git", "git", "status"], "wrapper:xargs"],
  ["xargs", ["-i", "{}"], "wrapper:xargs"],
  ["xargs", ["--process-slot-var=PATH", "ls"], "wrapper:xargs"],
  ["xargs", ["-Q", "ls"], "wrapper:xargs"],
];

describe("wrappers and inner commands", () => {
  test.each(INNER)("%s %j", (program, args, expected) => {
    const out = (WRAPPERS[program] ?? CHECKERS[program]!)(args, program);
    if (typeof expected === "string") {
      expect(out.deny?.rule).toBe(expected);
    } else {
      expect(out.deny).toBeUndefined();
      expect(out.inner?.[0]?.argv).toEqual(expected);
    }
  });

  test("xargs and find {} mark arguments as added at run time", () => {
    expect(WRAPPERS.xargs!(["rm"]).inner![0]!.appended).toBe(true);
    expect(CHECKERS.find!([".", "-exec", "rm", "{}", ";"], "find").inner![0]!.appended).toBe(true);
    expect(CHECKERS.find!([".", "-exec", "date", ";"], "find").inner![0]!.appended).toBe(false);
  });

  test("env reports the names it sets", () => {
    expect(WRAPPERS.env!(["A=1", "B=2", "ls"]).assigns).toEqual(["A", "B"]);
  });
});
