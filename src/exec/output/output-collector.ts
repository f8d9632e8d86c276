import { StringDecoder } from "node:string_decoder";
import { HeadTailBuffer } from "./head-tail.js";
import type { ExecRequest, ExecResult } from "../types.js";

/**
 * stdout and stderr of one command, each capped (head and tail kept) and forwarded to `onOutput`
 * as it arrives. Every backend (native, docker, ssh) builds its result here, so all report the
 * same shape and the same caps.
 */
export class OutputCollector {
  private readonly out: HeadTailBuffer;
  private readonly err: HeadTailBuffer;
  // Decoders keep a character split across two chunks whole for onOutput.
  private readonly outText = new StringDecoder("utf8");
  private readonly errText = new StringDecoder("utf8");
  private readonly started = performance.now();

  constructor(private readonly request: Pick<ExecRequest, "outputCapBytes" | "onOutput">) {
    this.out = new HeadTailBuffer(request.outputCapBytes);
    this.err = new HeadTailBuffer(request.outputCapBytes);
  }

  push(stream: "stdout" | "stderr", chunk: Buffer): void {
    const stdout = stream === "stdout";
    (stdout ? this.out : this.err).push(chunk);
    if (this.request.onOutput) this.request.onOutput(stream, (stdout ? this.outText : this.errText).write(chunk));
  }

  result(fields: { exit_code: number | null; signal?: string | null; timed_out: boolean; error?: string }): ExecResult {
    return {
      exit_code: fields.exit_code,
      signal: fields.signal ?? null,
      stdout: this.out.text(),
      stderr: this.err.text(),
      timed_out: fields.timed_out,
      truncated: this.out.truncated || this.err.truncated,
      duration_ms: Math.round(performance.now() - this.started),
      ...(fields.error !== undefined ? { error: fields.error } : {}),
    };
  }
}

/** A result for a command that never started (connection refused, container gone, refused spawn). */
export function failedResult(error: string, started = Date.now()): ExecResult {
  return { exit_code: null, signal: null, stdout: "", stderr: "", timed_out: false, truncated: false, duration_ms: Date.now() - started, error };
}
