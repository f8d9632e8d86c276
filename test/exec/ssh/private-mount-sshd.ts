import { spawn } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { requireBinary } from "../../support/engines/require-binary.js";
import { answersSsh, descendantsOf, freePort, type SshEngine } from "../../support/engines/ssh-engine.js";

/**
 * A second sshd with the engine's keys and user, inside its own mount namespace where `setup`
 * (a root shell script) has built a tree the test process cannot see: a stand-in for a remote
 * host's filesystem on this machine. Returns its port and a stop function.
 */
export async function startPrivateMountSshd(engine: SshEngine, setup: string): Promise<{ port: number; stop(): Promise<void> }> {
  const unshare = requireBinary("unshare", "util-linux");
  const port = await freePort();
  const cfg = join(engine.dir, `sshd_config_${port}`);
  const base = readFileSync(join(engine.dir, "sshd_config"), "utf8");
  writeFileSync(cfg, base.replace(/^Port .*$/m, `Port ${port}`).replace(/^PidFile .*$/m, `PidFile ${join(engine.dir, `sshd_${port}.pid`)}`));
  const script = `set -e\n${setup}\nexec ${requireBinary("sshd", "openssh-server")} -D -e -f '${cfg}'`;
  const child = spawn(unshare, ["--mount", "--propagation", "private", "--", "/bin/sh", "-c", script], { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr!.on("data", (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  const stop = async () => {
    for (const pid of descendantsOf(child.pid!)) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // gone
      }
    }
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGKILL");
      await new Promise((resolve) => child.once("exit", resolve));
    }
  };
  for (const deadline = Date.now() + 15_000; ; ) {
    if (child.exitCode !== null) throw new Error(`private-mount sshd exited ${child.exitCode}: ${stderr}`);
    if (await answersSsh(engine.host, port)) return { port, stop };
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`private-mount sshd on port ${port} did not answer within 15 s: ${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}
