import { spawn, type ChildProcess } from "node:child_process";
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Docker from "dockerode";
import { requireBinary, requireRoot, sh } from "./require-binary.js";

export interface DockerEngine {
  /** unix socket of this private dockerd */
  socket: string;
  /** DOCKER_HOST value for it */
  dockerHost: string;
  /** the busybox image imported at start */
  image: string;
  docker: Docker;
  dir: string;
  stop(): Promise<void>;
}

export const TEST_IMAGE = "warden-sandbox:test";

/**
 * Starts a private dockerd (own socket, data root, exec root and pidfile under a temp dir; no
 * iptables, no bridge) and imports a busybox image built from busybox-static: no registry needed.
 * Ready in about a second. `stop()` removes every container, stops dockerd and deletes the dir.
 */
export async function startDockerEngine(): Promise<DockerEngine> {
  requireRoot("dockerd");
  const dockerd = requireBinary("dockerd", "docker.io");
  const busybox = requireBinary("busybox", "busybox-static", ["/bin", "/usr/bin"]);
  const dir = mkdtempSync(join(tmpdir(), "wd-"));
  const socket = join(dir, "docker.sock");
  const log = join(dir, "dockerd.log");
  const child: ChildProcess = spawn(
    dockerd,
    [
      "-H",
      `unix://${socket}`,
      "--data-root",
      join(dir, "data"),
      "--exec-root",
      join(dir, "exec"),
      "--pidfile",
      join(dir, "dockerd.pid"),
      "--iptables=false",
      "--ip-masq=false",
      "--bridge=none",
      "--containerd-namespace",
      `warden-${process.pid}`,
      "--containerd-plugins-namespace",
      `warden-${process.pid}-p`,
    ],
    { stdio: ["ignore", "ignore", "pipe"], detached: false },
  );
  let stderr = "";
  child.stderr?.on("data", (d: Buffer) => {
    stderr += d.toString();
    if (stderr.length > 64_000) stderr = stderr.slice(-32_000);
  });
  let exited: string | null = null;
  child.on("exit", (code, signal) => (exited = `dockerd exited (${code ?? signal})`));
  const docker = new Docker({ socketPath: socket });
  const stop = async () => {
    try {
      const all = await docker.listContainers({ all: true });
      await Promise.all(all.map((c) => docker.getContainer(c.Id).remove({ force: true }).catch(() => {})));
    } catch {
      // engine already gone
    }
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGTERM");
      await new Promise<void>((resolve) => {
        const t = setTimeout(() => {
          child.kill("SIGKILL");
          resolve();
        }, 10_000);
        child.once("exit", () => {
          clearTimeout(t);
          resolve();
        });
      });
    }
    sh("/bin/sh", ["-c", `grep -F ' ${dir}/' /proc/mounts | cut -d' ' -f2 | sort -r | while read m; do umount -l "$m" 2>/dev/null; done; true`]);
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const deadline = Date.now() + 30_000;
    for (;;) {
      if (exited) throw new Error(`${exited}: ${stderr.slice(-2000)}`);
      try {
        await docker.ping();
        break;
      } catch {
        if (Date.now() > deadline) throw new Error(`dockerd did not answer on ${socket} within 30 s: ${stderr.slice(-2000)}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    writeFileSync(log, "");
    await importBusyboxImage(docker, busybox, dir);
  } catch (err) {
    await stop();
    throw err;
  }
  return { socket, dockerHost: `unix://${socket}`, image: TEST_IMAGE, docker, dir, stop };
}

/** A rootfs of busybox-static plus its applet links, /etc/passwd with `nobody`, imported as TEST_IMAGE. */
async function importBusyboxImage(docker: Docker, busybox: string, dir: string): Promise<void> {
  const rootfs = join(dir, "rootfs");
  for (const d of ["bin", "etc", "tmp", "proc", "sys", "dev", "root"]) mkdirSync(join(rootfs, d), { recursive: true });
  chmodSync(join(rootfs, "tmp"), 0o1777);
  copyFileSync(busybox, join(rootfs, "bin/busybox"));
  chmodSync(join(rootfs, "bin/busybox"), 0o755);
  for (const applet of sh(busybox, ["--list"]).split("\n")) {
    if (applet && applet !== "busybox") symlinkSync("busybox", join(rootfs, "bin", applet));
  }
  writeFileSync(join(rootfs, "etc/passwd"), "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/sh\n");
  writeFileSync(join(rootfs, "etc/group"), "root:x:0:\nnogroup:x:65534:\n");
  const tar = spawn("tar", ["-C", rootfs, "-c", "."], { stdio: ["ignore", "pipe", "inherit"] });
  const stream: NodeJS.ReadableStream = await (docker.importImage as unknown as (f: unknown, o: unknown) => Promise<NodeJS.ReadableStream>)(tar.stdout as unknown as string, { repo: "warden-sandbox", tag: "test", changes: ["ENV PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin"] } as never);
  await new Promise<void>((resolve, reject) => docker.modem.followProgress(stream, (err: Error | null) => (err ? reject(err) : resolve())));
  const image = await docker.getImage(TEST_IMAGE).inspect();
  if (!image.Config?.Env?.some((e: string) => e.startsWith("PATH="))) throw new Error("imported image has no PATH: docker import --change not applied");
}
