import { execFileSync } from "node:child_process";
import { existsSync, rmSync } from "node:fs";
import { afterAll, describe, expect, test } from "vitest";
import { decideCommand } from "../../../src/policy/command/index.js";
import { makeCorpusFixture } from "./fixture.js";

/**
 * Parser differential: the policy reads the command with mvdan/sh, the command runs under a real
 * shell (dash as /bin/sh on Debian, bash elsewhere). Each input hides `pwn` (a real program on the
 * fixture's trusted PATH that writes the canary) somewhere the two readings might disagree. The
 * property: if the policy allows an input, neither dash nor bash runs `pwn`.
 */
const DIFFERENTIAL = [
  // heredocs
  "cat <<EOF\nEO\\\nF\npwn\nEOF",
  "cat <<EOF\n\\\nEOF\npwn\nEOF",
  "cat <<-EOF\n\t\\\n\tEOF\npwn\nEOF",
  "cat <<EOF\nEOF \npwn\nEOF",
  "cat <<EOF\nEOF\t\npwn\nEOF",
  "cat <<EOF\n EOF\npwn\nEOF",
  "cat <<-EOF\n  EOF\npwn\nEOF",
  "cat <<-EOF\n\tEOF\npwn",
  "cat <<E\\OF\nEOF\npwn",
  "cat <<'E'OF\nEOF\npwn",
  "cat <<\"EOF\"\nEOF\npwn",
  "cat <<EOF\n\\$(pwn)\nEOF",
  "cat <<'EOF'\n$(pwn)\nEOF",
  "cat <<EOF\n$(pwn)\nEOF",
  "cat <<EOF; cat <<EOF2\na\nEOF\nb\nEOF2\npwn",
  "cat <<EOF\n$(\nEOF\npwn\n)\nEOF",
  "cat <<EOF\n`\nEOF\npwn\n`\nEOF",
  "x=$(cat <<'E'\n)\npwn\nE\n)",
  "echo $(cat <<'EOF'\n)\nEOF\n)",
  "cat <<EOF >out.txt\n${x:-$(pwn)}\nEOF",
  "cat <<EOF\n`pwn`\nEOF",
  "cat <<EOF\n\\`pwn\\`\nEOF",
  "cat <<EOF\n${x:-\\$(pwn)}\nEOF",
  "cat <<EOF\n\"$(pwn)\"\nEOF",
  "cat <<EOF\n'$(pwn)'\nEOF",
  "cat <<EOF\n${x:-'$(pwn)'}\nEOF",
  "cat <<'EOF'\n${x:-'$(pwn)'}\nEOF",
  "echo `cat <<EOF\npwn\nEOF`",
  // quoting
  "echo `echo \\$(pwn)`",
  "echo \"`echo '\\`pwn\\`'`\"",
  "echo ${x:-`pwn`}",
  "echo \"${x:-`pwn`}\"",
  "echo ${x:-\\`pwn\\`}",
  "echo \"${x:-\\`pwn\\`}\"",
  "echo ${x:+\"'\"}$(pwn)",
  "echo \"${x:-${y:-'$(pwn)'}}\"",
  "echo ${x:-${y:-'$(pwn)'}}",
  "echo \"${x#'$(pwn)'}\"",
  "echo \"${x/'$(pwn)'/y}\"",
  "echo $(echo ${x:-')'}); pwn",
  "echo $(( ${x:-'1'} ))",
  "echo $'\\'' ; pwn ; #'",
  "echo $'a\\' ; pwn ; #'",
  "echo '\\'$(pwn)",
  "echo \"a\\\"$(pwn)\"",
  "echo \"\\$(pwn)\"",
  "echo '$(pwn)'",
  "echo \\$(pwn)",
  "echo ${x:-'$(pwn)'}",
  "echo \"${x:-'$(pwn)'}\"",
  "echo \"${x:-\\'$(pwn)\\'}\"",
  "echo ${x:-\"$(pwn)\"}",
  "echo ${x#'}'} ; pwn",
  "echo ${x/'/'/} ; pwn",
  "echo \"${x/\"/\"/}\" ; pwn",
  "echo ${x:-\\}} ; pwn",
  "echo ${x%%\"\\}\"} ; pwn",
  "echo \"$(echo \")\"; pwn; echo \"(\")\"",
  "echo $(echo ')'); pwn",
  "echo a\\\n$(pwn)",
  "p\\\nwn",
  "\\pwn",
  "'pwn'",
  // comments and separators
  "echo a #$(pwn)",
  "echo a\\#b; pwn",
  "echo '#'; pwn",
  "echo x \\# $(pwn)",
  "echo a#b; pwn",
  "echo a \\\n; pwn",
  "echo $(# )\n); pwn",
  "echo a&>/dev/null; pwn",
  "echo a|&pwn",
  "echo a||pwn",
  "pwn&",
  // arithmetic and expansions
  "((pwn))",
  "echo $((pwn))",
  "echo $(( $(pwn) ))",
  "echo $[$(pwn)]",
  "echo $((1))$(pwn)",
  "echo $( (pwn) )",
  "echo {pwn,}",
  "{pwn,}",
  "echo !(x) ; pwn",
  "echo <<<x ; pwn",
  "f=x; echo ${f@Q}; pwn",
  "echo ${#}; pwn",
  "echo ${##}; pwn",
  "echo $((pwn) )",
  "echo $((pwn);)",
  "echo $((pwn)|cat)",
  "!pwn",
  "echo ${x?$(pwn)}",
  "echo ${x:-$((1))}$(pwn)",
  "[[ a > {canary} ]]",
  "[[ a < {outside}/secret.txt ]] && echo x > {canary}",
  "ls\u00a0;pwn",
  "echo\u00a0$(pwn)",
  "echo $(case x in x) echo ');'; esac); pwn",
  "echo $(echo \\\n); pwn",
  "echo ${x:-}}; pwn",
  "echo ${x:-{}}; pwn",
  "echo \"${x:-}\"}; pwn",
  "echo `echo \\\\`; pwn",
  "echo `echo '\\`'`; pwn",
  "echo \"`echo \\\"\\\\\"`\"; pwn",
  "echo $(echo #)\n); pwn",
  "echo a#$(pwn)",
  "echo $(echo a)#$(pwn)",
  "echo ${x#$(pwn)}",
  "echo \"${x#\"$(pwn)\"}\"",
  "echo $((1+$(pwn)))",
  "echo $(( (1) ))$(pwn)",
  "echo ${x:-\\'}$(pwn)",
  "echo \"${x:-\\\"}\"$(pwn)",
  "x=y\\\n; pwn",
  "echo $'\\x27'; pwn",
  "echo \"$'x'\"; pwn",
  "echo ${x:-$'x'}; pwn",
  "echo \"${x:-$'x'}\"; pwn",
  "echo ${x:-$\"x\"}; pwn",
  "cat <<EOF\n$'x'\nEOF\npwn",
  "echo <<'E O F'\nE O F\npwn",
  "cat <<EOF\n$(cat <<EOF2\nEOF\nEOF2\n)\nEOF\npwn",
  "echo 'a'#$(pwn)",
  "echo \"a\"#$(pwn)",
  "echo ${x}#$(pwn)",
  "echo $x#$(pwn)",
  "echo a\\ #$(pwn)",
  "echo \\#$(pwn)",
  "echo a;#$(pwn)",
  "echo $((1))#$(pwn)",
  "echo `echo a`#$(pwn)",
  "echo {a,b}#$(pwn)",
  "x=1#$(pwn)",
  "for x in a#$(pwn); do :; done",
  "case x in x)#$(pwn)\n;; esac",
  "echo ${x#\\#}$(pwn)",
  "echo a\t#$(pwn)",
  "(echo a)#$(pwn)",
  "{ echo a; }#$(pwn)",
  "echo a|#$(pwn)\ncat",
  // compound commands
  "case x in (x) pwn;; esac",
  "case a in a|pwn) echo;; esac",
  "case $(pwn) in *) ;; esac",
  "for x in a; { pwn; }",
  "if :; then :; fi; pwn",
  "f() (pwn)",
  "echo `echo \\`pwn\\``",
  "echo \"`echo \"\\`pwn\\`\"`\"",
  "echo $(case x in x) echo y;; esac); pwn",
];

const fx = makeCorpusFixture();
afterAll(() => fx.cleanup());
const SHELLS = ["/bin/dash", "/bin/bash"].filter((s) => existsSync(s));

/** Runs `input` under `shell` with the trusted PATH; true if the canary appeared. */
function runs(shell: string, input: string): boolean {
  rmSync(fx.canary, { force: true });
  try {
    execFileSync(shell, ["-c", input], { cwd: fx.root, env: { PATH: fx.bin }, stdio: "ignore", timeout: 5000 });
  } catch {
    // a failing command is fine; only the canary matters
  }
  const hit = existsSync(fx.canary);
  rmSync(fx.canary, { force: true });
  return hit;
}

describe.skipIf(SHELLS.length === 0)("parser differential: allowed never means pwn ran", () => {
  let allowed = 0;
  test.each(DIFFERENTIAL)("%j", async (input) => {
    const d = await decideCommand(fx.fill(input), fx.policy, fx.env());
    if (!d.allow) return;
    allowed++;
    for (const shell of SHELLS) expect(runs(shell, fx.fill(input)), `${shell} ran pwn`).toBe(false);
  });

  test("the harness can see pwn run, and some inputs are allowed", () => {
    for (const shell of SHELLS) expect(runs(shell, "pwn")).toBe(true);
    expect(allowed).toBeGreaterThanOrEqual(8);
  });
});
