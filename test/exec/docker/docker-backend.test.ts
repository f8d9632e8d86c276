import { mkdirSync, mkdtempSync, rmSync, writeFileSync, chownSync, existsSync } from "node:fs";
import { tmpdir, hostname } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDockerBackend } from "../../../src/exec/docker/index.js";
import { OWNER_HOST_LABEL, OWNER_PID_LABEL, SESSION_LABEL } from "../../../src/exec/docker/container-spec.js";
import type { ExecRequest } from "../../../src/exec/types.js";
import { startDockerEngine, type DockerEngine } from "../../support/engines/docker-engine.js";
import { engineUnsupported } from "../../support/engines/require-binary.js";

const unsupported = engineUnsupported();
const LIMITS = { memoryMb: 64, processes: 32, cpuS: 60, fileSizeMb: 16, network: false };

describe.skipIf(unsupported !== null)(`docker backend against a real dockerd${unsupported ? ` (skipped: ${unsupported})` : ""}`, () => {
  let engine: DockerEngine;
  let root: string;
  let ro: string;
  let base: string;
  let backend: ReturnType<typeof createDockerBackend>;
  const req = (argv: string[], extra: Partial<ExecRequest> = {}): ExecRequest => ({
    argv,
    cwd: root,
    env: { PATH: "/bin", LANG: "C" },
    timeoutMs: 10_000,
    outputCapBytes: 64 * 1024,
    limits: LIMITS,
    roots: [
      { path: root, writable: true },
      { path: ro, writable: false },
    ],
    ...extra,
  });

  beforeAll(async () => {
    engine = await startDockerEngine();
    base = mkdtempSync(join(tmpdir(), "wdr-"));
    root = join(base, "rw");
    ro = join(base, "ro");
    mkdirSync(root);
    mkdirSync(ro);
    writeFileSync(join(ro, "readme.txt"), "read only\n");
    chownSync(root, 65534, 65534);
    backend = createDockerBackend({ image: engine.image, user: "65534:65534", cpus: 1, hostBinaries: false, env: { DOCKER_HOST: engine.dockerHost } });
  });
  afterAll(async () => {
    await backend?.close();
    await engine?.stop();
    if (base) rmSync(base, { recursive: true, force: true });
  });

  it("runs a command with separate stdout, stderr and exit code", async () => {
    const r = await backend.run(req(["/bin/sh", "-c", "echo out; echo err >&2; exit 3"]));
    expect(r).toMatchObject({ exit_code: 3, stdout: "out\n", stderr: "err\n", timed_out: false, truncated: false });
    expect(r.error).toBeUndefined();
  });

  it("passes stdin, cwd and exactly the request's environment", async () => {
    const r = await backend.run(req(["/bin/sh", "-c", "pwd; cat; env | sort"], { stdin: "hello\n", env: { PATH: "/bin", FOO: "b a r" } }));
    expect(r.exit_code).toBe(0);
    const [cwd, input, ...env] = r.stdout.trimEnd().split("\n");
    expect([cwd, input]).toEqual([root, "hello"]);
    // The shell itself adds PWD and SHLVL; nothing from the image or the engine leaks in.
    expect(env.filter((l) => !/^(PWD|SHLVL)=/.test(l))).toEqual(["FOO=b a r", "PATH=/bin"]);
  });

  it("runs an approved script with the shell", async () => {
    const r = await backend.run(req(["/bin/sh"], { script: "echo a | tr a b" }));
    expect(r).toMatchObject({ exit_code: 0, stdout: "b\n" });
  });

  it("runs as the non-root user with a read-only root filesystem, a writable /tmp and no network", async () => {
    const r = await backend.run(req(["/bin/sh", "-c", "id -u; touch /etc/x 2>&1 || echo ro-rootfs; touch /tmp/x && echo tmp-ok; touch /home/warden/.x && echo home-ok; ls /sys/class/net"]));
    expect(r.stdout).toContain("home-ok");
    expect(r.stdout).toContain("65534\n");
    expect(r.stdout).toContain("ro-rootfs");
    expect(r.stdout).toContain("tmp-ok");
    expect(r.stdout.trim().split("\n").at(-1)).toBe("lo");
  });

  it("binds the roots at their own paths with their access", async () => {
    const r = await backend.run(req(["/bin/sh", "-c", `echo hi > ${root}/w.txt && cat ${ro}/readme.txt && (echo x > ${ro}/y 2>/dev/null || echo ro-denied)`]));
    expect(r.stdout).toBe("read only\nro-denied\n");
    expect(existsSync(join(root, "w.txt"))).toBe(true);
    expect(existsSync(join(ro, "y"))).toBe(false);
  });

  it("refuses a working directory outside the roots", async () => {
    await expect(backend.run(req(["/bin/true"], { cwd: "/etc" }))).rejects.toThrow(/not inside a root/);
  });

  it("kills a command at its timeout, process group included", async () => {
    const t0 = Date.now();
    const r = await backend.run(req(["/bin/sh", "-c", "sleep 300 & sleep 301; echo never"], { timeoutMs: 1000 }));
    expect(r.timed_out).toBe(true);
    expect(r.stdout).not.toContain("never");
    expect(Date.now() - t0).toBeLessThan(6000);
    const ps = await backend.run(req(["/bin/sh", "-c", "ps -o pid,args | grep -c 'sleep 30[01]' || true"]));
    expect(ps.stdout.trim()).toBe("0");
  });

  it("enforces the memory limit", async () => {
    // 64 MiB container: a 200 MB string in the shell cannot live.
    const r = await backend.run(req(["/bin/sh", "-c", "head -c 200000000 /dev/zero | tr '\\0' a > /dev/null; x=$(head -c 150000000 /dev/zero | tr '\\0' a); echo survived ${#x}"], { timeoutMs: 30_000 }));
    expect(r.stdout).not.toContain("survived 150000000");
    expect(r.exit_code).not.toBe(0);
  });

  it("enforces the pids limit", async () => {
    const r = await backend.run(req(["/bin/sh", "-c", "i=0; while [ $i -lt 64 ]; do sleep 5 & i=$((i+1)); done 2>&1; wait; echo done"], { timeoutMs: 20_000 }));
    expect(r.stderr + r.stdout).toMatch(/can't fork|Resource temporarily unavailable|fork/i);
  });

  it("stops a command that floods the pids limit, its whole process group gone", async () => {
    const b = createDockerBackend({ image: engine.image, user: "65534:65534", cpus: 1, hostBinaries: false, env: { DOCKER_HOST: engine.dockerHost }, killGraceMs: 300 });
    try {
      const t0 = Date.now();
      const r = await b.run(req(["/bin/sh", "-c", "while :; do sleep 100 & done 2>/dev/null"], { timeoutMs: 1000 }));
      expect(r.timed_out).toBe(true);
      expect(Date.now() - t0).toBeLessThan(15_000);
      // The container may need a moment (a restart, when even the killer could not start at the
      // limit) before it takes commands again; then no sleep of the flood is left.
      let after = await b.run(req(["/bin/sh", "-c", "ps | grep -c '[s]leep 100' || true"]));
      for (let i = 0; i < 30 && after.exit_code !== 0; i++) {
        await new Promise((r) => setTimeout(r, 500));
        after = await b.run(req(["/bin/sh", "-c", "ps | grep -c '[s]leep 100' || true"]));
      }
      expect(after).toMatchObject({ exit_code: 0, stdout: "0\n" });
    } finally {
      await b.close();
    }
  });

  it("caps output with head and tail kept", async () => {
    const r = await backend.run(req(["/bin/sh", "-c", "echo START; head -c 300000 /dev/zero | tr '\\0' x; echo; echo END"], { outputCapBytes: 4096 }));
    if (!r.truncated) console.log(r, (await backend.run(req(["/bin/ps"]))).stdout);
    expect(r.truncated).toBe(true);
    expect(r.stdout.startsWith("START")).toBe(true);
    expect(r.stdout.trimEnd().endsWith("END")).toBe(true);
  });

  it("which() finds programs on the trusted path inside the container only", async () => {
    expect(await backend.which("sh", ["/usr/bin", "/bin"])).toBe("/bin/sh");
    expect(await backend.which("node", ["/usr/bin", "/bin"])).toBeNull();
    expect(await backend.which("/bin/ls", ["/usr/bin"])).toBe("/bin/ls");
  });

  it("start(): background process with stdin and kill", async () => {
    const p = await backend.start(req(["/bin/cat"]));
    await p.write("one\n");
    await p.closeStdin();
    const r = await p.done;
    expect(r).toMatchObject({ exit_code: 0, stdout: "one\n" });
    const q = await backend.start(req(["/bin/sleep", "100"]));
    await new Promise((res) => setTimeout(res, 300));
    await q.kill("SIGKILL");
    const qr = await q.done;
    expect(qr.signal).toBe("SIGKILL");
  });

  it("labels the session container, removes it on close, and removes stale ones of dead owners", async () => {
    const other = createDockerBackend({ image: engine.image, user: "65534:65534", cpus: 1, hostBinaries: false, env: { DOCKER_HOST: engine.dockerHost } });
    await other.run(req(["/bin/true"]));
    const [id] = await other.containerIds();
    const info = await engine.docker.getContainer(id!).inspect();
    expect(info.Config.Labels[SESSION_LABEL]).toBe(other.session);
    await other.close();
    await expect(engine.docker.getContainer(id!).inspect()).rejects.toMatchObject({ statusCode: 404 });

    // A container left by a crashed run: labelled, owner pid dead.
    const stale = await engine.docker.createContainer({
      Image: engine.image,
      Cmd: ["sleep", "1000"],
      Labels: { [SESSION_LABEL]: "crashed", [OWNER_PID_LABEL]: "2147483646", [OWNER_HOST_LABEL]: hostname() },
      HostConfig: { NetworkMode: "none" },
    });
    const alive = await engine.docker.createContainer({
      Image: engine.image,
      Cmd: ["sleep", "1000"],
      Labels: { [SESSION_LABEL]: "alive", [OWNER_PID_LABEL]: String(process.pid), [OWNER_HOST_LABEL]: hostname() },
      HostConfig: { NetworkMode: "none" },
    });
    const fresh = createDockerBackend({ image: engine.image, user: "65534:65534", cpus: 1, hostBinaries: false, env: { DOCKER_HOST: engine.dockerHost } });
    await fresh.run(req(["/bin/true"]));
    await expect(engine.docker.getContainer(stale.id).inspect()).rejects.toMatchObject({ statusCode: 404 });
    expect((await engine.docker.getContainer(alive.id).inspect()).Id).toBe(alive.id);
    await fresh.close();
    await engine.docker.getContainer(alive.id).remove({ force: true });
  });

  it("volume_mount mode runs the host's binaries read-only in a minimal image", async () => {
    const vm = createDockerBackend({ image: engine.image, user: "65534:65534", cpus: 1, hostBinaries: true, env: { DOCKER_HOST: engine.dockerHost } });
    try {
      expect(await vm.which("node", ["/usr/local/bin", "/usr/bin"])).toBe(await which("node"));
      const r = await vm.run(req(["/usr/bin/env", "sh", "-c", "readlink -f /bin/sh; touch /usr/x 2>/dev/null || echo ro"], { env: { PATH: "/usr/bin:/bin" } }));
      expect(r.stdout).toContain("ro");
    } finally {
      await vm.close();
    }
  });
});

async function which(name: string): Promise<string | null> {
  for (const d of ["/usr/local/bin", "/usr/bin"]) if (existsSync(`${d}/${name}`)) return `${d}/${name}`;
  return null;
}
