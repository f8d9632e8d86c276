import { isShortBundle, longOption, longValue, refuse, type CheckOutcome } from "./outcome.js";

const TAR_RUNNING = ["to-command", "checkpoint-action", "use-compress-program", "rsh-command", "rmt-command", "info-script", "new-volume-script"];

/** A remote spec (`host:path`, `user@host:path`): tar and rsync reach it through rsh/ssh. */
const REMOTE = /^[^/]*:/;

/**
 * tar runs programs through --to-command, --checkpoint-action=exec, -I/--use-compress-program,
 * --rsh-command, -F/--info-script, and through rsh for a `host:file` archive.
 */
export function checkTar(args: string[]): CheckOutcome {
  const forceLocal = args.includes("--force-local");
  const writes: { path: string; what: string }[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const long = longOption(a, TAR_RUNNING, ["checkpoint"]);
    if (long) return refuse("wrapper:tar-exec", `tar --${long} runs a program`);
    if (longOption(a, ["absolute-names"])) return refuse("wrapper:tar-write", "tar --absolute-names extracts to absolute paths");
    if (longOption(a, ["directory"])) {
      const v = longValue(args, i);
      if (v !== undefined) writes.push({ path: v, what: "tar --directory" });
    }
    // A dash bundle (`-xvC/dir`), or an old-style one without a dash as the first argument (`tar xIf ...`).
    const dashed = isShortBundle(a);
    const bundle = dashed ? splitBundle(a.slice(1)) : i === 0 && /^[A-Za-z]+$/.test(a) ? { options: a } : null;
    if (bundle) {
      // Only option letters count: an attached value (`-C/tmp/Imports`) is a path, not options.
      if (/[IF]/.test(bundle.options)) return refuse("wrapper:tar-exec", "tar -I/-F run a program");
      if (/P/.test(bundle.options)) return refuse("wrapper:tar-write", "tar -P extracts to absolute paths");
      if (dashed) {
        const dir = bundle.options.endsWith("C") ? (bundle.attached ?? args[i + 1]) : undefined;
        if (dir !== undefined) writes.push({ path: dir, what: "tar -C" });
      } else {
        // Old style (`tar xCf DIR a.tar`): each letter that takes a value takes the next argument.
        let next = 1;
        for (const c of bundle.options) {
          if (!TAR_VALUE_OPTIONS.has(c)) continue;
          const value = args[next++];
          if (c === "C" && value !== undefined) writes.push({ path: value, what: "tar C" });
        }
      }
    }
    if (!forceLocal && !a.startsWith("-") && REMOTE.test(a)) return refuse("wrapper:tar-exec", `tar: ${a} names a remote archive reached through rsh`);
  }
  return { writes };
}

/** GNU tar's short options that take a value (`-C DIR`, `-f FILE`, ...). */
const TAR_VALUE_OPTIONS = new Set("bCfFgHIKLNTVX");

/**
 * One dash bundle as GNU tar reads it: letters are options until one that takes a value, whose
 * value is the rest of the bundle (`-xvC/dir`, `-C/dir`) or, when nothing follows it, the next
 * argument (`-xC dir`). So `-fC` names an archive called `C`, not a directory.
 */
function splitBundle(letters: string): { options: string; attached?: string } {
  for (let k = 0; k < letters.length; k++) {
    if (!TAR_VALUE_OPTIONS.has(letters[k]!)) continue;
    const options = letters.slice(0, k + 1);
    return k + 1 < letters.length ? { options, attached: letters.slice(k + 1) } : { options };
  }
  return { options: letters };
}

const RSYNC_RUNNING = ["rsh", "rsync-path", "log-file", "write-batch", "only-write-batch", "read-batch", "daemon", "config", "remote-option", "early-input"];

/** rsync runs programs through -e/--rsh, --rsync-path, -M; anything remote needs ssh. */
export function checkRsync(args: string[]): CheckOutcome {
  for (const a of args) {
    const long = longOption(a, RSYNC_RUNNING);
    if (long) return refuse("wrapper:rsync-exec", `rsync --${long} runs a program or writes outside the command`);
    if (isShortBundle(a) && /[eM]/.test(a.slice(1))) return refuse("wrapper:rsync-exec", "rsync -e/-M run a program");
    if (!a.startsWith("-") && (REMOTE.test(a) || a.startsWith("rsync://"))) return refuse("wrapper:rsync-exec", `rsync: ${a} is remote`);
  }
  return {};
}

/** zip runs a program to test the archive with -TT/--unzip-command. */
export function checkZip(args: string[]): CheckOutcome {
  for (const a of args) {
    if (a.startsWith("-TT") || longOption(a, ["unzip-command"])) return refuse("wrapper:zip-exec", "zip -TT/--unzip-command runs a program");
  }
  return {};
}
