import { HeadTailBuffer } from "../output/head-tail.js";
import type { ExecRequest, ExecResult } from "../types.js";

/**
 * stdout and stderr of one remote command, each capped (head and tail kept) and forwarded to
 * `onOutput` as it arrives. Shared by the docker, ssh and host-agent backends so all three report
 * the same result shape as the native one.
 */
export class OutputCollector {
  private readonly out: HeadTailBuffer;
  private readonly err: HeadTailBuffer;
  private readonly started = Date.now();

  constructor(private readonly request: Pick<ExecRequest, "outputCapBytes" | "onOutput">) {
    this.out = new HeadTailBuffer(request.outputCapBytes);
    this.err = new HeadTailBuffer(request.outputCapBytes);
  }

  push(stream: "stdout" | "stderr", chunk: Buffer): void {
    (stream === "stdout" ? this.out : this.err).push(chunk);
    this.request.onOutput?.(stream, chunk.toString("utf8"));
  }

  result(fields: { exit_code: number | null; signal?: string | null; timed_out: boolean; error?: string }): ExecResult {
    return {
      exit_code: fields.exit_code,
      signal: fields.signal ?? null,
      stdout: this.out.text(),
      stderr: this.err.text(),
      timed_out: fields.timed_out,
      truncated: this.out.truncated || this.err.truncated,
      duration_ms: Date.now() - this.started,
      ...(fields.error !== undefined ? { error: fields.error } : {}),
    };
  }
}

/** A result for a command that never started (connection refused, container gone). */
export function failedResult(error: string, started = Date.now()): ExecResult {
  return { exit_code: null, signal: null, stdout: "", stderr: "", timed_out: false, truncated: false, duration_ms: Date.now() - started, error };
}
