import { longOption, refuse, type CheckOutcome } from "./outcome.js";

/**
 * awk programs run commands with system(), `print | "cmd"`, `"cmd" | getline` and `|&`, write
 * files with `print > "file"`, and gawk loads code with @load/-l and -f files. The program text must
 * be given inline and is searched for those; string and regex literals are skipped first, so
 * `/a|b/` stays usable (a parenthesized comparison inside print is refused too: write `print (a > b)`
 * as `x = a > b; print x`).
 */
export function checkAwk(args: string[], program: string): CheckOutcome {
  const texts: string[] = [];
  let sandbox = false;
  let i = 0;
  for (; i < args.length; i++) {
    const a = args[i]!;
    if (a === "--") {
      i++;
      break;
    }
    if (!a.startsWith("-") || a === "-") break;
    if (a.startsWith("-f") || longOption(a, ["file", "include", "load", "exec"]) || /^-[ilE]/.test(a)) {
      return refuse("wrapper:awk-exec", `${program} ${a}: program text from a file or an extension cannot be checked`);
    }
    if (a === "--sandbox" || a === "-S") sandbox = true;
    if (a === "-e" || longOption(a, ["source"])) {
      const v = a.includes("=") ? a.slice(a.indexOf("=") + 1) : args[++i];
      if (v === undefined) return refuse("wrapper:awk-exec", `${program} ${a} without a program`);
      texts.push(v);
    } else if (a === "-F" || a === "-v") i++;
  }
  if (texts.length === 0 && i < args.length) texts.push(args[i]!);
  // gawk --sandbox disables system(), pipes, redirections and extensions; mawk has no such mode.
  if (sandbox && program === "gawk") return {};
  for (const t of texts) {
    const code = stripAwkLiterals(t);
    if (/\bsystem\s*\(/.test(code)) return refuse("wrapper:awk-exec", `${program}: system() runs a command`);
    if (/\|/.test(code.replace(/\|\|/g, ""))) return refuse("wrapper:awk-exec", `${program}: a | pipe runs a command`);
    if (/@\s*(load|include)/.test(code)) return refuse("wrapper:awk-exec", `${program}: @load/@include pull in code`);
    if (/\b(print|printf)\b[^;{}\n]*>/.test(code)) return refuse("wrapper:awk-write", `${program}: print > FILE writes a file`);
  }
  return {};
}

/** Blanks string literals and regex literals (a `/` where an operand starts) out of awk code. */
function stripAwkLiterals(code: string): string {
  let out = "";
  let operandExpected = true;
  for (let i = 0; i < code.length; i++) {
    const c = code[i]!;
    if (c === '"' || (c === "/" && operandExpected)) {
      let j = i + 1;
      let inClass = false;
      while (j < code.length) {
        const d = code[j]!;
        if (d === "\\") j++;
        else if (c === "/" && d === "[") inClass = true;
        else if (c === "/" && d === "]") inClass = false;
        else if (d === c && !inClass) break;
        j++;
      }
      out += " ";
      i = j;
      operandExpected = false;
      continue;
    }
    out += c;
    if (!/\s/.test(c)) operandExpected = /[(,;{}!~&|=<>+\-*%^?:\n]/.test(c);
  }
  return out;
}

/**
 * sed runs commands with the GNU `e` command and the `e` flag of `s`, and writes files with `w`,
 * `W` and the `w` flag. Scripts from -f files cannot be checked. With --sandbox GNU sed refuses
 * e/r/w itself.
 */
export function checkSed(args: string[]): CheckOutcome {
  if (args.includes("--sandbox")) return {};
  const scripts: string[] = [];
  let explicit = false;
  const operands: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === "-f" || /^-[^-]*f/.test(a) || longOption(a, ["file"])) return refuse("wrapper:sed-exec", `sed ${a}: a script from a file cannot be checked`);
    if (a === "-e" || /^-[a-zA-Z]*e$/.test(a) || longOption(a, ["expression"])) {
      const v = a.includes("=") ? a.slice(a.indexOf("=") + 1) : args[++i];
      if (v === undefined) return refuse("wrapper:sed-exec", "sed -e without a script");
      scripts.push(v);
      explicit = true;
    } else if (/^-[^-]*e./.test(a)) {
      scripts.push(a.slice(a.indexOf("e") + 1));
      explicit = true;
    } else if (a === "-l" || longOption(a, ["line-length"]) === "line-length") {
      if (!a.includes("=")) i++;
    } else if (!a.startsWith("-") || a === "-") operands.push(a);
  }
  if (!explicit && operands.length > 0) scripts.push(operands[0]!);
  for (const s of scripts) {
    const bad = sedRunsOrWrites(s);
    if (bad) return refuse("wrapper:sed-exec", `sed: ${bad}`);
  }
  return {};
}

/** Walks a sed script command by command; returns why it is refused, or null. Unparseable is refused. */
function sedRunsOrWrites(script: string): string | null {
  let i = 0;
  const n = script.length;
  const skipSpace = () => {
    while (i < n && /[\s;]/.test(script[i]!)) i++;
  };
  const readDelimited = (delim: string): boolean => {
    while (i < n && script[i] !== delim) {
      if (script[i] === "\\") i++;
      else if (script[i] === "\n" && delim !== "\n") return false;
      i++;
    }
    if (i >= n) return false;
    i++;
    return true;
  };
  while (true) {
    skipSpace();
    if (i >= n) return null;
    // Addresses: numbers, $, /re/, \cREc, first~step, addr,addr, +N, ~N, then optional !.
    for (let k = 0; k < 2; k++) {
      if (script[i] === "/") {
        i++;
        if (!readDelimited("/")) return "unterminated address";
      } else if (script[i] === "\\") {
        const d = script[i + 1];
        if (d === undefined) return "unterminated address";
        i += 2;
        if (!readDelimited(d)) return "unterminated address";
      } else {
        while (i < n && /[0-9$~+]/.test(script[i]!)) i++;
      }
      while (i < n && /[IM]/.test(script[i]!) && k < 2 && script[i - 1] === "/") i++;
      if (script[i] === ",") i++;
      else break;
    }
    while (i < n && /[\s!]/.test(script[i]!)) i++;
    const cmd = script[i];
    if (cmd === undefined) return null;
    i++;
    if (cmd === "e") return "the e command runs a shell command";
    if (cmd === "w" || cmd === "W") return `the ${cmd} command writes a file`;
    if (cmd === "{" || cmd === "}") continue;
    if (cmd === "s" || cmd === "y") {
      const d = script[i];
      if (d === undefined || d === "\n" || d === "\\") return "malformed s/y command";
      i++;
      if (!readDelimited(d) || !readDelimited(d)) return "unterminated s/y command";
      if (cmd === "s") {
        const flagsStart = i;
        while (i < n && /[0-9gpiImMe w]/.test(script[i]!) && script[i] !== "\n") {
          if (script[i] === "w") return "the w flag of s writes a file";
          if (script[i] === "e") return "the e flag of s runs the pattern space as a command";
          if (script[i] === " ") break;
          i++;
        }
        if (i === flagsStart && i < n && !/[\s;}]/.test(script[i]!)) return "unknown s flag";
      }
      continue;
    }
    if ("aicrR#".includes(cmd)) {
      // Text, a file name or a comment runs to the end of the line.
      while (i < n && script[i] !== "\n") i++;
      continue;
    }
    if ("btTvqQlL:".includes(cmd)) {
      // A label or a number ends at ; or a newline (GNU).
      while (i < n && script[i] !== "\n" && script[i] !== ";") i++;
      continue;
    }
    if ("=dDgGhHlnNpPxzF".includes(cmd)) continue;
    return `unknown command ${JSON.stringify(cmd)}`;
  }
}
