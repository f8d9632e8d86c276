import { isShortBundle, longOption, longValue, refuse, type CheckOutcome } from "./outcome.js";

/** npm/npx run a shell command with npx -c / npm exec -c, and any script through --script-shell. */
export function checkNpm(args: string[], program: string): CheckOutcome {
  const sub = args.find((a) => !a.startsWith("-"));
  const execs = program === "npx" || program === "pnpx" || sub === "exec" || sub === "x" || sub === "dlx";
  for (const a of args) {
    if (a.includes("script-shell") || a.includes("script_shell")) return refuse("wrapper:npm-exec", `${program}: script-shell chooses the program that runs scripts`);
    if (execs && (a === "-c" || longOption(a, ["call"]))) return refuse("wrapper:npm-exec", `${program} -c/--call runs a shell command`);
  }
  return {};
}

/** ripgrep runs a preprocessor program for every file with --pre. */
export function checkRipgrep(args: string[]): CheckOutcome {
  for (const a of args) {
    if (a === "--pre" || a.startsWith("--pre=")) return refuse("wrapper:rg-exec", "rg --pre runs a program for every file");
  }
  return {};
}

/** sort runs --compress-program and writes -o/--output files. */
export function checkSort(args: string[]): CheckOutcome {
  const writes: { path: string; what: string }[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (longOption(a, ["compress-program"])) return refuse("wrapper:sort-exec", "sort --compress-program runs a program");
    if (longOption(a, ["output"])) {
      const v = longValue(args, i);
      if (v !== undefined) writes.push({ path: v, what: "sort --output" });
    } else if (isShortBundle(a) && a.includes("o")) {
      const rest = a.slice(a.indexOf("o") + 1);
      const v = rest !== "" ? rest : args[i + 1];
      if (v !== undefined) writes.push({ path: v, what: "sort -o" });
    }
  }
  return { writes };
}

/** tee writes every file it is given: judged like `>` redirections. */
export function checkTee(args: string[]): CheckOutcome {
  const writes: { path: string; what: string }[] = [];
  let options = true;
  for (const a of args) {
    if (options && a === "--") options = false;
    else if (options && a.startsWith("-") && a !== "-") continue;
    else writes.push({ path: a, what: "tee" });
  }
  return { writes };
}

/** uniq INPUT OUTPUT writes OUTPUT. */
export function checkUniq(args: string[]): CheckOutcome {
  const operands: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === "--") {
      operands.push(...args.slice(i + 1));
      break;
    }
    if (/^-[fsw]$/.test(a)) i++;
    else if (!a.startsWith("-") || a === "-") operands.push(a);
  }
  return operands[1] !== undefined ? { writes: [{ path: operands[1], what: "uniq OUTPUT" }] } : {};
}

/** man runs a pager or browser program given with -P/--pager, -H/--html. */
export function checkMan(args: string[]): CheckOutcome {
  for (const a of args) {
    if ((isShortBundle(a) && /[PH]/.test(a.slice(1))) || longOption(a, ["pager", "html"])) return refuse("wrapper:man-exec", "man -P/-H run a program");
  }
  return {};
}

/** less and more run startup commands given as +cmd (less `+!cmd` runs a shell command). */
export function checkPager(args: string[], program: string): CheckOutcome {
  for (const a of args) {
    if (a.startsWith("+") || a.startsWith("-+")) return refuse("wrapper:pager-exec", `${program} ${a}: startup commands can run programs`);
  }
  return {};
}
