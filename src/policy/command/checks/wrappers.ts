import { longOption, refuse, type CheckOutcome } from "./outcome.js";

/**
 * Programs (and builtins) that run another command given as their operands. Each parser finds
 * where the inner command starts; options it does not know deny, since an unknown option might
 * take a value and shift where the command begins. The inner command is then decided like any.
 */
const wrap = (argv: string[], via: string, appended = false, assigns: string[] = []): CheckOutcome =>
  argv.length === 0 ? { assigns } : { inner: [{ argv, appended, via }], assigns };

/** Splits `args` at the first operand, accepting `flags` (no value) and `valued` (value follows or is attached). */
function splitOptions(args: string[], program: string, flags: string[], valued: string[], longFlags: string[] = [], longValued: string[] = []): { index: number } | CheckOutcome {
  let i = 0;
  for (; i < args.length; i++) {
    const a = args[i]!;
    if (a === "--") return { index: i + 1 };
    if (!a.startsWith("-") || a === "-") break;
    if (a.startsWith("--")) {
      const key = a.slice(2).split("=")[0]!;
      if (longFlags.includes(key)) continue;
      if (longValued.includes(key)) {
        if (!a.includes("=")) i++;
        continue;
      }
      return refuse(`wrapper:${program}`, `${program} ${a}: option not understood, the inner command cannot be located`);
    }
    // Short bundle: flags, then possibly one valued option taking the rest or the next argument.
    let ok = true;
    for (let k = 1; k < a.length; k++) {
      const c = a[k]!;
      if (flags.includes(c)) continue;
      if (valued.includes(c)) {
        if (k === a.length - 1) i++;
        break;
      }
      ok = false;
      break;
    }
    if (!ok) return refuse(`wrapper:${program}`, `${program} ${a}: option not understood, the inner command cannot be located`);
  }
  return { index: i };
}

function after(args: string[], program: string, flags: string[], valued: string[], longFlags?: string[], longValued?: string[]): CheckOutcome {
  const s = splitOptions(args, program, flags, valued, longFlags, longValued);
  if (!("index" in s)) return s;
  return wrap(args.slice(s.index), program);
}

function checkEnv(args: string[]): CheckOutcome {
  const assigns: string[] = [];
  let i = 0;
  for (; i < args.length; i++) {
    const a = args[i]!;
    if (a === "--") {
      i++;
      break;
    }
    if (a === "-" || a === "-i" || a === "--ignore-environment" || a === "-0" || a === "--null" || a === "-v" || a === "--debug") continue;
    if (a === "-u" || a === "--unset") {
      i++;
      continue;
    }
    if (a.startsWith("-u") || a.startsWith("--unset=")) continue;
    if (a.startsWith("-S") || longOption(a, ["split-string"])) return refuse("wrapper:env", "env -S splits a string into a command that cannot be checked");
    if (a.startsWith("-C") || longOption(a, ["chdir"])) return refuse("wrapper:env", "env -C runs the command in another directory");
    if (a.startsWith("-")) return refuse("wrapper:env", `env ${a}: option not understood`);
    break;
  }
  for (; i < args.length && /^[^=]+=/.test(args[i]!); i++) assigns.push(args[i]!.split("=")[0]!);
  return wrap(args.slice(i), "env", false, assigns);
}

function checkXargs(args: string[]): CheckOutcome {
  let replace: string | null = null;
  let i = 0;
  for (; i < args.length; i++) {
    const a = args[i]!;
    if (a === "--") {
      i++;
      break;
    }
    if (!a.startsWith("-")) break;
    if (a.startsWith("--")) {
      const key = a.slice(2).split("=")[0]!;
      if (key === "process-slot-var") return refuse("wrapper:xargs", "xargs --process-slot-var sets an environment variable");
      if (key === "replace") {
        replace = a.includes("=") ? a.slice(a.indexOf("=") + 1) : "{}";
        continue;
      }
      if (["null", "no-run-if-empty", "verbose", "interactive", "exit", "open-tty", "show-limits"].includes(key)) continue;
      if (["arg-file", "delimiter", "eof", "max-lines", "max-args", "max-procs", "max-chars"].includes(key)) {
        if (!a.includes("=")) i++;
        continue;
      }
      return refuse("wrapper:xargs", `xargs ${a}: option not understood`);
    }
    const c = a[1]!;
    if (/^-[0rtpxo]+$/.test(a)) continue;
    if (c === "I") {
      replace = a.length > 2 ? a.slice(2) : (args[++i] ?? "");
      continue;
    }
    if (c === "i") {
      replace = a.length > 2 ? a.slice(2) : "{}";
      continue;
    }
    if ("adELnPs".includes(c)) {
      if (a.length === 2) i++;
      continue;
    }
    if (c === "e" || c === "l") continue;
    return refuse("wrapper:xargs", `xargs ${a}: option not understood`);
  }
  const argv = args.slice(i);
  if (argv.length === 0) return wrap(["echo"], "xargs", true);
  if (replace !== null && (replace === "" || argv[0]!.includes(replace))) {
    return refuse("wrapper:xargs", "xargs -I: the program name would come from the input");
  }
  return wrap(argv, "xargs", true);
}

function checkTimeout(args: string[]): CheckOutcome {
  const s = splitOptions(args, "timeout", ["v"], ["s", "k"], ["preserve-status", "foreground", "verbose"], ["signal", "kill-after"]);
  if (!("index" in s)) return s;
  // The first operand is the duration.
  return wrap(args.slice(s.index + 1), "timeout");
}

function checkNice(args: string[]): CheckOutcome {
  let i = 0;
  for (; i < args.length; i++) {
    const a = args[i]!;
    if (a === "--") {
      i++;
      break;
    }
    if (/^-\d+$/.test(a) || /^-n-?\d+$/.test(a) || /^--adjustment=-?\d+$/.test(a)) continue;
    if (a === "-n" || a === "--adjustment") {
      i++;
      continue;
    }
    if (a.startsWith("-")) return refuse("wrapper:nice", `nice ${a}: option not understood`);
    break;
  }
  return wrap(args.slice(i), "nice");
}

function checkTime(args: string[]): CheckOutcome {
  for (const a of args) {
    if (!a.startsWith("-")) break;
    if (a.startsWith("-o") || longOption(a, ["output", "append"])) return refuse("wrapper:time", "time -o writes a file");
  }
  return after(args, "time", ["p", "v", "q", "a"], ["f"], ["portability", "verbose", "quiet"], ["format"]);
}

function checkCommandBuiltin(args: string[]): CheckOutcome {
  const s = splitOptions(args, "command", ["v", "V", "p"], []);
  if (!("index" in s)) return s;
  const opts = args.slice(0, s.index).join("");
  if (opts.includes("p")) return refuse("wrapper:command", "command -p searches a default PATH that is not the policy's");
  if (opts.includes("v") || opts.includes("V")) return {}; // a lookup, runs nothing
  return wrap(args.slice(s.index), "command");
}

function checkExec(args: string[]): CheckOutcome {
  if (args[0]?.startsWith("-") && args[0] !== "--") return refuse("wrapper:exec", `exec ${args[0]}: changes how the program is started`);
  return wrap(args[0] === "--" ? args.slice(1) : args, "exec");
}

function checkIonice(args: string[]): CheckOutcome {
  if (args.some((a) => /^-[pPu]/.test(a) || longOption(a, ["pid", "pgid", "uid"]))) return refuse("wrapper:ionice", "ionice -p/-P/-u act on other processes");
  return after(args, "ionice", ["t"], ["c", "n"], ["ignore"], ["class", "classdata"]);
}

/** Wrappers that run their operand as a command: name -> parser. */
export const WRAPPERS: Record<string, (args: string[]) => CheckOutcome> = {
  env: checkEnv,
  xargs: checkXargs,
  timeout: checkTimeout,
  nice: checkNice,
  nohup: (args) => after(args, "nohup", [], []),
  stdbuf: (args) => after(args, "stdbuf", [], ["i", "o", "e"], [], ["input", "output", "error"]),
  setsid: (args) => after(args, "setsid", ["c", "f", "w"], [], ["ctty", "fork", "wait"]),
  time: checkTime,
  ionice: checkIonice,
  command: checkCommandBuiltin,
  exec: checkExec,
  busybox: (args) => wrap(args, "busybox"),
};

/**
 * Programs that run another command in a way this policy does not follow (privilege change,
 * namespaces, tracing, terminals, schedulers, remote shells, command strings): always denied.
 */
export const DENIED_RUNNERS = new Set([
  "sudo", "doas", "su", "pkexec", "runuser", "sg", "newgrp", "chroot", "unshare", "nsenter", "setpriv", "capsh",
  "firejail", "bwrap", "systemd-run", "machinectl", "script", "watch", "flock", "strace", "ltrace", "gdb", "lldb",
  "valgrind", "parallel", "expect", "tmux", "screen", "at", "batch", "crontab", "ssh", "scp", "sftp", "slogin",
  "sshpass", "rsh", "rlogin", "telnet", "socat", "nc", "ncat", "netcat", "fakeroot", "proot", "chpst",
  "start-stop-daemon", "daemonize", "torsocks", "proxychains", "proxychains4", "dbus-run-session", "xvfb-run",
  "catchsegv", "chrt", "taskset", "numactl", "cgexec", "run-parts", "ld.so", "ld-linux.so.2", "ld-linux-x86-64.so.2",
  "ld-linux-aarch64.so.1", "nix-shell", "direnv", "entr", "inotifywait", "nohup.sh", "unbuffer", "faketime",
  // Editors whose input or options are commands (`echo '!cmd' | ed`, `vim -c '!cmd'`).
  "ed", "red", "ex", "vi", "vim", "nvim", "view", "rvim", "emacs",
  // Container runtimes: `docker run -v /:/host` is root on the host.
  "docker", "podman", "nerdctl", "ctr", "lxc", "lxc-attach", "systemd-nspawn",
]);
