import { randomBytes } from "node:crypto";
import { existsSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createNativeBackend } from "../../../src/exec/native/index.js";
import type { ExecBackend } from "../../../src/exec/types.js";
import { bridgeWith, cleanup, tempDir } from "../support.js";

/**
 * The OS layer on its own: every command here is let through by a policy that allows everything
 * (as if the command policy had been bypassed). Bubblewrap must still keep the secret outside the
 * root unread and the canary outside the root unwritten.
 */
describe("hostile commands that got past the policy", () => {
  let backend: ExecBackend;
  let root: string;
  let outside: string;
  let secretFile: string;
  let canary: string;
  let hostPid: number;
  const secret = `HOSTILE-${randomBytes(8).toString("hex")}`;

  beforeAll(() => {
    backend = createNativeBackend({ confinement: "bubblewrap", killGraceMs: 300 });
    root = tempDir("hostile-root");
    outside = tempDir("hostile-outside");
    secretFile = join(outside, "id_rsa");
    canary = join(outside, "canary");
    writeFileSync(secretFile, secret);
    symlinkSync(outside, join(root, "link-out"));
    symlinkSync(secretFile, join(root, "secret-link"));
    hostPid = process.pid;
    process.env.WARDEN_TEST_SECRET = secret; // in this process's environ, which must stay unreadable
  });
  afterAll(async () => {
    delete process.env.WARDEN_TEST_SECRET;
    await backend.close();
    cleanup(root, outside);
  });

  const cases: [string, () => string][] = [
    ["cat the secret by path", () => `cat ${secretFile}`],
    ["follow a symlink in the root", () => `cat secret-link; cat link-out/id_rsa`],
    ["write the canary by path", () => `echo x > ${canary}`],
    ["write through a directory symlink", () => `echo x > link-out/canary`],
    ["hard link the secret into the root", () => `ln ${secretFile} stolen && cat stolen`],
    ["copy the secret into the root", () => `cp ${secretFile} . ; cat id_rsa`],
    ["host process environ", () => `cat /proc/${hostPid}/environ; tr '\\0' '\\n' < /proc/1/environ`],
    ["host process root", () => `ls /proc/${hostPid}/root${outside}; cat /proc/${hostPid}/root${secretFile}; cat /proc/1/root${secretFile}`],
    ["host process cwd and fds", () => `ls -l /proc/*/cwd /proc/*/fd 2>/dev/null; cat /proc/*/cwd/id_rsa`],
    ["mount the host filesystem", () => `mkdir -p m && mount --bind / m && cat m${secretFile}`],
    ["new user namespace to regain caps", () => `unshare -Ur sh -c 'mount --bind / ${root}/m2 2>&1; cat ${root}/m2${secretFile}'`],
    ["nsenter the host", () => `nsenter -t 1 -m -p cat ${secretFile}`],
    ["chroot out", () => `chroot / cat ${secretFile}`],
    ["block devices", () => `ls /dev; cat /dev/sda /dev/vda 2>&1 | head -c 100`],
    ["python reads and writes outside", () => `python3 -c "print(open('${secretFile}').read())"; python3 -c "open('${canary}','w').write('x')"`],
    ["node reads and writes outside", () => `node -e "console.log(require('fs').readFileSync('${secretFile}','utf8'))"; node -e "require('fs').writeFileSync('${canary}','x')"`],
    ["find the secret anywhere", () => `find / -name id_rsa -exec cat {} \\; 2>/dev/null`],
    ["grep the secret anywhere", () => `grep -r HOSTILE / 2>/dev/null | head`],
    ["tar the outside dir", () => `tar cf - ${outside} 2>/dev/null | strings`],
    ["dd the secret", () => `dd if=${secretFile} 2>/dev/null`],
    ["git reads outside via config", () => `git -c core.sshCommand='cat ${secretFile}' --version; git --git-dir=${outside} log 2>&1`],
    ["sysfs and cgroup writes", () => `echo 1 > /sys/fs/cgroup/pids/cgroup.procs; ls /sys`],
    ["ptrace the server", () => `python3 -c "import ctypes; print(ctypes.CDLL(None).ptrace(16, ${hostPid}, 0, 0))"`],
    ["reach the server over the network", () => `python3 -c "import socket; socket.create_connection(('10.0.2.2', 22), 1)"; node -e "fetch('http://127.0.0.1:1').catch(e=>console.log('net', e.cause && e.cause.code))"`],
    ["kill the server", () => `kill -9 ${hostPid}; kill -9 -1`],
  ];

  it.each(cases)("%s", async (_name, command) => {
    const { bridge } = bridgeWith(backend, [{ path: root, writable: true }]);
    const out = await bridge.execute({ command: command(), timeout: 10 });
    expect(JSON.stringify(out)).not.toContain(secret);
    expect(existsSync(canary)).toBe(false);
    expect(readdirSync(outside).sort()).toEqual(["canary", "id_rsa"].filter((n) => n !== "canary"));
    expect(readFileSync(secretFile, "utf8")).toBe(secret);
    // The server survived.
    expect(process.pid).toBe(hostPid);
  });
});
