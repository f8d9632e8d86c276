import { join } from "node:path";

/**
 * The red team's tools (issue 10) as commands any backend with python3 can run, shared by the
 * backends' escape tests (test/server/command-escape.test.ts has the native originals).
 */

/**
 * A command that reports the outside canary `outside/canary.txt` if it can see it (at its own path,
 * or below `x` and `xl` where a misplaced bind of the host's / would show it), tries to leave a file
 * `pwned-TAG` beside it, and prints its physical working directory as `cwd:PATH`.
 */
export const probe = (outside: string, tag: string) =>
  `python3 -c 'import os
print("cwd:" + os.getcwd())
for d in ["", "x", "xl"]:
    p = d + ${JSON.stringify(join(outside, "canary.txt"))}
    if os.path.exists(p):
        print("LEAK:" + open(p).read())
        try:
            open(os.path.dirname(p) + "/pwned-" + ${JSON.stringify(tag)}, "w").write("x")
            print("WROTE")
        except OSError as e:
            print("nowrite", e.errno)
print("absent")'`;

/**
 * Swaps `x` (a directory holding a `.env`, so a deny scan pins it) with `xl` (a relative symlink to
 * `/`) in a loop, atomically (renameat2 RENAME_EXCHANGE through ctypes), for up to 600 s. Every
 * 5000 swaps it writes the count to `swaps.txt` beside them (a background command's output may only
 * come back when it ends).
 */
export const SWAPPER = `python3 -c 'import ctypes, os, sys, time
libc = ctypes.CDLL(None, use_errno=True)
os.makedirs("x", exist_ok=True)
open("x/.env", "w").write("SECRET=attacker\\n")
if not os.path.lexists("xl"):
    os.symlink("../" * 40, "xl")
n = 0
end = time.time() + 600
while time.time() < end:
    if libc.renameat2(-100, b"x", -100, b"xl", 2) == 0:
        n += 1
        if n % 5000 == 0:
            open("swaps.tmp", "w").write(str(n))
            os.rename("swaps.tmp", "swaps.txt")
'`;

/** What one run of the pin swap race saw. */
export interface SwapRace {
  ran: number;
  refused: number;
  leaks: number;
  /** Refusals by rule. */
  rules: Map<string, number>;
}

/**
 * The pin swap race's foreground half: `tries` probes, each counted as ran, refused (by the rule
 * its text names) or leaked (the canary `secret` seen, or a file written beside it). `fail` explains
 * a call that did not answer (for example with the server's stderr).
 */
export async function raceProbes(
  call: (command: string) => Promise<{ isError?: boolean; text: string }>,
  outside: string,
  secret: string,
  tries: number,
): Promise<SwapRace> {
  const race: SwapRace = { ran: 0, refused: 0, leaks: 0, rules: new Map() };
  for (let i = 0; i < tries; i++) {
    const { isError, text } = await call(probe(outside, `race-${i}`));
    if (text.includes(secret) || text.includes("WROTE")) race.leaks++;
    if (isError) {
      race.refused++;
      const rule = /\[rule: ([^\]]+)\]/.exec(text)?.[1] ?? text.slice(0, 80);
      race.rules.set(rule, (race.rules.get(rule) ?? 0) + 1);
    } else race.ran++;
  }
  return race;
}
