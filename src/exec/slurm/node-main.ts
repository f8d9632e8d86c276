#!/usr/bin/env node
/**
 * Entry of the session step on a compute node: `srun ... node dist/exec/slurm/node-main.js
 * --confinement bubblewrap`. Speaks the frames of protocol.ts on stdin/stdout; its own messages go
 * to stderr (srun's diagnostics, never mixed with command output).
 */
import { runNode } from "./node-runner.js";
import type { FromNode } from "./protocol.js";

const i = process.argv.indexOf("--confinement");
const confinement = process.argv[i + 1] === "none" ? "none" : "bubblewrap";
const send = (frame: FromNode) => process.stdout.write(`${JSON.stringify(frame)}\n`);

// scancel (or the time limit) sends SIGTERM first: clean up (commands killed, cgroups removed)
// before slurmstepd's SIGKILL comes, KillWait seconds later.
const stop = new AbortController();
process.once("SIGTERM", () => stop.abort());

runNode({ confinement, input: process.stdin, send, env: process.env, signal: stop.signal }).then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`warden slurm node: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  },
);
