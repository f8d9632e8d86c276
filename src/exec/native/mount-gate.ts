import type { Readable, Writable } from "node:stream";
import { verifyMounts } from "./mount-check.js";
import type { PlannedMount } from "./mount-plan.js";

/**
 * Descriptors of the gate in bubblewrap's process: 3 carries bubblewrap's `--info-fd` report (the
 * sandbox's pid), 4 the gate's "ready", 5 the server's "go"; the roots' descriptors start at 6.
 */
export const GATE_FD = { info: 3, ready: 4, go: 5, firstRoot: 6 } as const;

/** Rule of a refusal because the sandbox did not match its mount plan. */
export const MOUNTS_RULE = "sandbox.mounts";

/**
 * What runs first inside the sandbox, instead of the command: it says it is ready, waits for the
 * server's verdict and only then execs the command (with the gate's descriptors closed). Anything
 * but "go" (the server gone, a refusal) ends it before the command's first instruction.
 *
 * It enters the working directory ($1) only then: bubblewrap starts in / (mount-plan.ts), because
 * a working directory taken before a mount covers it stays in the directory underneath (a masked
 * one's real content; the deny masks are attached after bubblewrap, mask-attach.ts). Looked up
 * now, it is the directory the checked mounts show. `cd` sets OLDPWD: put back as the request had it.
 */
const GATE_SCRIPT = `echo ready >&${GATE_FD.ready} && exec ${GATE_FD.ready}>&- && IFS= read -r go <&${GATE_FD.go} && exec ${GATE_FD.go}<&- && [ "$go" = go ] && o=\${OLDPWD+set} && v=\${OLDPWD-} && cd -P -- "$1" && { if [ -n "$o" ]; then OLDPWD=$v; else unset OLDPWD; fi; } && shift && exec "$@"; exit 125`;

/** bubblewrap options of the gate (before the plan's own). */
export const GATE_BWRAP_ARGS = ["--info-fd", String(GATE_FD.info)];

/** The command line inside the sandbox: the gate, then the command in `cwd` (an absolute path in the sandbox). */
export function gatedCommand(command: string[], cwd: string): string[] {
  return ["/bin/sh", "-c", GATE_SCRIPT, "warden-gate", cwd, ...command];
}

export type GateVerdict = { ok: true } | { ok: false; reason: string } | { ok: "exited" };

/**
 * Waits for the sandbox to be ready (bubblewrap reported its pid, the gate said "ready"), checks
 * its mounts against the plan from outside (mount-check.ts) and opens the gate, or leaves it shut
 * and says why. Resolves "exited" when the process ends first (bubblewrap itself failed).
 */
export function openGate(streams: { info: Readable; ready: Readable; go: Writable }, exited: Promise<unknown>, mounts: readonly PlannedMount[]): Promise<GateVerdict> {
  return new Promise<GateVerdict>((resolve) => {
    let info = "";
    let said = "";
    let ready = false;
    let settled = false;
    const settle = (v: GateVerdict) => {
      if (settled) return;
      settled = true;
      streams.info.removeListener("data", onInfo);
      streams.ready.removeListener("data", onReady);
      resolve(v);
    };
    const maybe = () => {
      if (settled || !ready) return;
      const m = /"child-pid"\s*:\s*(\d+)/.exec(info);
      if (!m) return;
      const why = verifyMounts(Number(m[1]), mounts);
      if (why === null) {
        streams.go.end("go\n");
        settle({ ok: true });
      } else {
        streams.go.destroy();
        settle({ ok: false, reason: why });
      }
    };
    const onInfo = (chunk: Buffer) => {
      info += chunk.toString("utf8");
      maybe();
    };
    // "ready" from the gate, or from the mask helper after it attached the masks (mask-attach.ts),
    // which says "refused: <why>" instead when it could not: the gate then stays shut.
    const onReady = (chunk: Buffer) => {
      said += chunk.toString("utf8");
      const line = said.split("\n", 1)[0]!;
      if (line.length === said.length) return; // not a whole line yet
      if (line === "ready") ready = true;
      else {
        streams.go.destroy();
        return settle({ ok: false, reason: line.startsWith("refused: ") ? `a mount inside a root (a pin or a deny mask) could not be attached: ${line.slice(9)}` : `the gate said ${JSON.stringify(line.slice(0, 200))}` });
      }
      maybe();
    };
    streams.info.on("data", onInfo);
    streams.ready.on("data", onReady);
    // The sandbox may be gone already (killed, bubblewrap failed): a reset pipe is not an error here.
    for (const stream of [streams.info, streams.ready, streams.go]) stream.on("error", () => {});
    void exited.then(() => settle({ ok: "exited" }));
  });
}
