import { readFileSync } from "node:fs";

/**
 * A process's start time (clock ticks since boot, field 22 of /proc/PID/stat), or null when it is
 * gone or a zombie. pid plus start time names one process for the life of the machine: a pid can be
 * reused, the pair cannot.
 */
export function processStartTime(pid: number): string | null {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return null;
  }
  // The command name (field 2) may hold spaces and parentheses: fields restart after the last ')'.
  const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  if (rest[0] === "Z" || rest[0] === "X") return null;
  return rest[19] ?? null;
}

/** Whether the process recorded as (pid, start) still runs. */
export function isRunning(pid: number, start: string): boolean {
  return processStartTime(pid) === start;
}
