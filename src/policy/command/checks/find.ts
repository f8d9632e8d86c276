import { refuse, type CheckOutcome, type InnerCommand } from "./outcome.js";

const EXEC_ACTIONS = new Set(["-exec", "-execdir", "-ok", "-okdir"]);

/**
 * find runs commands (-exec, -execdir, -ok, -okdir: decided like any command, with `{}` standing
 * for names found at run time), writes files (-fprint, -fprint0, -fprintf, -fls: judged like
 * redirections) and deletes (-delete: allowed only where `rm` would be).
 */
export function checkFind(args: string[]): CheckOutcome {
  const inner: InnerCommand[] = [];
  const writes: { path: string; what: string }[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (EXEC_ACTIONS.has(a)) {
      let j = i + 1;
      while (j < args.length && args[j] !== ";" && args[j] !== "+") j++;
      if (j >= args.length) return refuse("wrapper:find-exec", `find ${a} without a terminating ; or +`);
      const argv = args.slice(i + 1, j);
      if (argv.length === 0 || argv[0]!.includes("{}")) return refuse("wrapper:find-exec", `find ${a}: the program must be a literal name`);
      inner.push({ argv, appended: argv.some((w) => w.includes("{}")), via: `find ${a}` });
      i = j;
    } else if (a === "-fprint" || a === "-fprint0" || a === "-fls" || a === "-fprintf") {
      const file = args[i + 1];
      if (file === undefined) return refuse("wrapper:find-write", `find ${a} without a file`);
      writes.push({ path: file, what: `find ${a}` });
      i += a === "-fprintf" ? 2 : 1;
    } else if (a === "-delete") {
      inner.push({ argv: ["rm"], appended: true, via: "find -delete" });
    }
  }
  return { inner, writes };
}
