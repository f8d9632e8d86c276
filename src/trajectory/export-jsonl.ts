import type { Trajectory } from "./types.js";

/**
 * JSON Lines: a `session` line (where it came from, how it was verified), then the steps in order
 * with each checkpoint after the step it followed. Every step names its audit record (seq and MAC),
 * so any line can be checked against the chain.
 */
export function toJsonl(t: Trajectory): string {
  const { steps, checkpoints, ...head } = t;
  const lines: unknown[] = [{ type: "session", ...head, steps: steps.length, checkpoints: checkpoints.length }];
  const at = (n: number) => checkpoints.filter((c) => c.after_step === n).map((c) => ({ type: "checkpoint", ...c }));
  lines.push(...at(0));
  for (const step of steps) lines.push({ type: "step", ...step }, ...at(step.index));
  return lines.map((l) => JSON.stringify(l)).join("\n") + "\n";
}
