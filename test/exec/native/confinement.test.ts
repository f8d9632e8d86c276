import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createNativeBackend } from "../../../src/exec/native/index.js";
import type { ExecBackend, ExecResult } from "../../../src/exec/types.js";
import { cleanup, request, sandboxNode, script, tempDir } from "../support.js";

/**
 * What bubblewrap holds even for an allowed interpreter: nothing outside the roots is readable or
 * writable, HOME is empty, there is no network. Each probe runs through node, python3 and cat.
 */
describe("native backend under bubblewrap", () => {
  let backend: ExecBackend;
  let root: string;
  let readOnlyRoot: string;
  let fakeHome: string;
  let secretFile: string;
  let rootCanary: string;
  const secret = `SECRET-${randomBytes(8).toString("hex")}`;
  let server: Server;
  let port = 0;
  let connections = 0;

  beforeAll(async () => {
    backend = createNativeBackend({ confinement: "bubblewrap" });
    root = tempDir("conf-root");
    readOnlyRoot = tempDir("conf-ro");
    writeFileSync(join(readOnlyRoot, "data.txt"), "read-only data\n");
    fakeHome = tempDir("conf-home");
    mkdirSync(join(fakeHome, ".ssh"));
    secretFile = join(fakeHome, ".ssh", "id_ed25519");
    writeFileSync(secretFile, secret);
    rootCanary = `/root/.warden-canary-${randomBytes(4).toString("hex")}`;
    writeFileSync(rootCanary, secret);
    server = createServer((s) => {
      connections++;
      s.end("hello from outside\n");
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    port = (server.address() as { port: number }).port;
  });
  afterAll(async () => {
    await backend.close();
    server.close();
    rmSync(rootCanary, { force: true });
    cleanup(root, readOnlyRoot, fakeHome);
  });

  const roots = () => [
    { path: root, writable: true },
    { path: readOnlyRoot, writable: false },
  ];
  const run = (argv: string[], extra = {}) => backend.run(request(root, argv, { roots: roots(), ...extra }));
  const all = (r: ExecResult) => r.stdout + r.stderr;

  it("reports bubblewrap as the active mode", () => {
    expect(backend.describe().confinement).toBe("bubblewrap");
  });

  it.each([
    ["node", (f: string) => [sandboxNode(), "-e", `try { console.log(require('fs').readFileSync(${JSON.stringify(f)}, 'utf8')) } catch (e) { console.log('ERR', e.code) }`]],
    ["python3", (f: string) => ["/usr/bin/python3", "-c", `\ntry:\n print(open(${JSON.stringify(f)}).read())\nexcept Exception as e:\n print('ERR', type(e).__name__)`]],
    ["cat", (f: string) => ["/bin/cat", f]],
  ])("%s cannot read files outside the roots", async (_name, argv) => {
    for (const file of [secretFile, rootCanary, "/etc/shadow", "/proc/1/environ"]) {
      const r = await run(argv(file));
      expect(all(r)).not.toContain(secret);
      if (file === "/etc/shadow") expect(all(r)).not.toMatch(/root:/);
    }
  });

  it("hides /root, /home and the user's files entirely", async () => {
    const r = await run(["/bin/sh", "-c", `ls -a /root /home ${fakeHome} 2>&1; echo "HOME=$HOME"; ls -A "$HOME" | wc -l`]);
    expect(r.stdout).not.toContain(".warden-canary");
    expect(r.stdout).toContain("HOME=/home/warden");
    expect(r.stdout.trim().endsWith("0")).toBe(true);
  });

  it("reads roots, writes only the read-write root", async () => {
    const outside = join(fakeHome, `written-${randomBytes(3).toString("hex")}`);
    const hostTmp = `/tmp/warden-escape-${randomBytes(3).toString("hex")}`;
    const r = await run([
      sandboxNode(),
      "-e",
      `const fs = require('fs');
       for (const f of [${JSON.stringify(outside)}, ${JSON.stringify(join(readOnlyRoot, "x"))}, '/usr/x', '/etc/x', ${JSON.stringify(hostTmp)}, ${JSON.stringify(join(root, "ok.txt"))}]) {
         try { fs.writeFileSync(f, 'w'); console.log('wrote', f) } catch (e) { console.log('denied', f, e.code) }
       }
       console.log(fs.readFileSync(${JSON.stringify(join(readOnlyRoot, "data.txt"))}, 'utf8'))`,
    ]);
    expect(r.stdout).toContain(`wrote ${join(root, "ok.txt")}`);
    expect(r.stdout).toContain("read-only data");
    expect(existsSync(outside)).toBe(false);
    expect(existsSync(join(readOnlyRoot, "x"))).toBe(false);
    expect(existsSync(hostTmp)).toBe(false); // /tmp inside is private
    expect(readFileSync(join(root, "ok.txt"), "utf8")).toBe("w");
  });

  it("has no network unless the policy allows it", async () => {
    const probe = [sandboxNode(), "-e", `require('net').connect(${port}, '127.0.0.1').on('data', d => { console.log('GOT', String(d)); process.exit(0) }).on('error', e => { console.log('NET', e.code); process.exit(0) })`];
    const before = connections;
    const denied = await run(probe);
    expect(denied.stdout).toMatch(/NET (ECONNREFUSED|ENETUNREACH)/);
    expect(connections).toBe(before);
    const py = await run(["/usr/bin/python3", "-c", `import socket\ntry:\n socket.create_connection(('127.0.0.1', ${port}), 2); print('CONNECTED')\nexcept OSError as e:\n print('NET', e.errno)`]);
    expect(py.stdout).toContain("NET");
    expect(connections).toBe(before);
    const allowed = await backend.run(request(root, probe, { roots: roots(), limits: { memoryMb: 1024, processes: 64, cpuS: 60, fileSizeMb: 64, network: true } }));
    expect(allowed.stdout).toContain("GOT hello from outside");
  });

  it("drops capabilities and cannot see host processes", async () => {
    const r = await backend.run(script(root, "grep CapEff /proc/self/status; ls /proc | grep -c '^[0-9]'", { roots: roots() }));
    expect(r.stdout).toContain("CapEff:\t0000000000000000");
    expect(Number(r.stdout.trim().split("\n").pop())).toBeLessThan(10);
  });
});

describe("native backend without bubblewrap", () => {
  it("refuses every command when bubblewrap is wanted but missing", async () => {
    const backend = createNativeBackend({ confinement: "bubblewrap", bwrapSearchPath: ["/nonexistent"] });
    expect(backend.describe().confinement).toBe("unavailable");
    await expect(backend.run(request("/tmp", ["/bin/true"]))).rejects.toMatchObject({ rule: "execution.confinement" });
    await backend.close();
  });

  it("runs unconfined only when the policy says none", async () => {
    const backend = createNativeBackend({ confinement: "none" });
    expect(backend.describe().confinement).toBe("none");
    const r = await backend.run(request("/tmp", ["/bin/echo", "ok"]));
    expect(r.stdout).toBe("ok\n");
    await backend.close();
  });
});
