import type { ExecRequest, ExecResult } from "../types.js";

/**
 * The session step's protocol: one JSON object a line on the step's stdin (server -> node) and
 * stdout (node -> server), carried by srun's own I/O forwarding (munge-authenticated, no port to
 * open on the node). Command output travels inside `out` and `done` frames, so it never mixes with
 * srun's or slurmstepd's own messages (those arrive on srun's stderr and are kept as diagnostics).
 */

/** An ExecRequest as it crosses the wire: no callbacks, roots named by path and inode. */
export interface WireRequest extends Omit<ExecRequest, "signal" | "onOutput" | "roots"> {
  roots: { path: string; writable: boolean }[];
  /** Send `out` frames as output arrives (background processes, progress). */
  stream: boolean;
  /** Keep stdin open for `write` frames (background processes). */
  interactive: boolean;
}

/** A root the node must hold before a command may name it; `marker` proves it is the same directory. */
export interface HoldRoot {
  path: string;
  /** Inode the server holds (device numbers differ between the machines of a shared filesystem). */
  ino: string;
  /** A file the server just created in the root, and its content; absent when the root is not writable to the server. */
  marker?: { name: string; content: string };
  /** Without a marker: the root's mtime and ctime (ms) as the server sees them. */
  times?: { mtimeMs: number; ctimeMs: number };
}

export type ToNode =
  | { t: "hold"; id: number; roots: HoldRoot[] }
  | { t: "start"; id: number; request: WireRequest }
  | { t: "write"; id: number; data: string }
  | { t: "close-stdin"; id: number }
  | { t: "kill"; id: number; signal: NodeJS.Signals }
  | { t: "which"; id: number; program: string; path: string[] };

export type FromNode =
  | { t: "hello"; node: string; job: string; step: string; cluster: string; confinement: string; detail?: string; pid: number }
  | { t: "held"; id: number; ok: true }
  | { t: "held"; id: number; ok: false; error: string }
  | { t: "ready"; id: number }
  | { t: "refused"; id: number; rule: string; reason: string }
  | { t: "out"; id: number; stream: "stdout" | "stderr"; data: string }
  | { t: "done"; id: number; result: ExecResult }
  | { t: "which"; id: number; path: string | null }
  | { t: "error"; id: number; error: string };

/** Name of marker files: hidden, unique, removed by the server right after the check. */
export const MARKER_PREFIX = ".warden-slurm-check-";

/** Parses one line; anything that is not a frame of the protocol is returned as null (and reported by the caller). */
export function parseFrame<T extends { t: string }>(line: string): T | null {
  if (!line.startsWith("{")) return null;
  try {
    const v = JSON.parse(line) as unknown;
    return v && typeof v === "object" && typeof (v as { t?: unknown }).t === "string" ? (v as T) : null;
  } catch {
    return null;
  }
}
