import { existsSync, mkdirSync, readFileSync, readlinkSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openHostRoot, RootHolder } from "../../../src/config/held-roots.js";
import { mergedRootOpener } from "../../../src/config/merged-roots.js";
import { createNativeBackend } from "../../../src/exec/native/index.js";
import type { ExecBackend } from "../../../src/exec/types.js";
import { openWorkspace, type WorkspaceHandle } from "../../../src/workspace/index.js";
import { cleanup, processesWith, script, tempDir } from "../support.js";

const settle = () => new Promise((r) => setTimeout(r, 150));
const mountNs = (pid: number) => {
  try {
    return readlinkSync(`/proc/${pid}/ns/mnt`);
  } catch {
    return null;
  }
};
const parentOf = (pid: number) => {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
  } catch {
    return null;
  }
};
/** Started by this process, or by its launcher spawner (spawner.ts). */
const ours = (pid: number) => {
  const parent = parentOf(pid);
  return parent === process.pid || (parent !== null && parentOf(parent) === process.pid);
};
/** Waiting launchers of this test process living in `ns` (a mount namespace's link text). */
const zygotesIn = (ns: string) => processesWith("warden-zygote").filter((pid) => ours(pid) && mountNs(pid) === ns);

// serve --overlay: the launcher kept ready enters the workspace's namespace ahead of time, so no
// nsenter runs on a command's path. It must serve that namespace only, and go with its holder.
describe("prestarted launchers in a copy-on-write workspace's namespace", () => {
  let base: string;
  let real: string;
  let plain: string;
  let ws: WorkspaceHandle;
  let view: RootHolder;
  let host: RootHolder;
  let backend: ExecBackend;
  const inView = (text: string) => script(real, text, { roots: [{ path: real, writable: true, held: view.hold(real) }] });
  const onHost = (text: string) => script(plain, text, { roots: [{ path: plain, writable: true, held: host.hold(plain) }] });

  beforeAll(async () => {
    base = tempDir("zyg-ns");
    real = join(base, "real");
    plain = join(base, "plain");
    mkdirSync(real);
    mkdirSync(plain);
    ws = await openWorkspace({ stateDir: join(base, "state"), name: "z", roots: [real] });
    view = new RootHolder(mergedRootOpener({ via: `/proc/${ws.holderPid}/root`, roots: [real], fsType: ws.fsType }));
    host = new RootHolder(openHostRoot);
    backend = createNativeBackend({ confinement: "bubblewrap" });
  });
  afterAll(async () => {
    await backend.close();
    view.close();
    host.close();
    await ws.close();
    cleanup(base);
  });

  /** Runs a request and returns the pid it ran as (a waiting launcher's own pid when one was used) and its result. */
  async function runAs(b: ExecBackend, req: ReturnType<typeof inView>) {
    const proc = await b.start(req);
    await proc.closeStdin();
    return { pid: proc.pid, result: await proc.done };
  }

  it("waits inside the namespace and runs the next command there; its writes land in the view", async () => {
    const holderNs = mountNs(ws.holderPid)!;
    expect(holderNs).not.toBe(mountNs(process.pid));
    expect((await backend.run(inView("true"))).exit_code).toBe(0);
    await settle();
    const [waiting] = zygotesIn(holderNs);
    expect(waiting).toBeDefined();
    const { pid, result } = await runAs(backend, inView("echo in-view > made.txt"));
    expect(result.exit_code, result.stderr).toBe(0);
    expect(pid).toBe(waiting);
    expect(existsSync(join(real, "made.txt"))).toBe(false);
    expect(existsSync(join(`/proc/${ws.holderPid}/root`, real, "made.txt"))).toBe(true);
  });

  it("keeps a launcher ready per namespace (a workspace per session): each command runs in its own namespace's", async () => {
    const holderNs = mountNs(ws.holderPid)!;
    await backend.run(inView("true"));
    await backend.run(onHost("true"));
    await settle();
    const [inside] = zygotesIn(holderNs);
    const [outside] = zygotesIn(mountNs(process.pid)!);
    expect(inside).toBeDefined();
    expect(outside).toBeDefined();
    const out = await runAs(backend, onHost("echo real > host.txt"));
    expect(out.result.exit_code, out.result.stderr).toBe(0);
    expect(out.pid).toBe(outside);
    expect(existsSync(join(plain, "host.txt"))).toBe(true);
    const back = await runAs(backend, inView("echo view > view.txt"));
    expect(back.result.exit_code, back.result.stderr).toBe(0);
    expect(back.pid).toBe(inside);
    expect(existsSync(join(real, "view.txt"))).toBe(false);
  });

  it("goes when the workspace's holder does, without a command to notice (no namespace kept alive)", async () => {
    const own = await openWorkspace({ stateDir: join(base, "state"), name: "gone", roots: [plain] });
    const ownView = new RootHolder(mergedRootOpener({ via: `/proc/${own.holderPid}/root`, roots: [plain], fsType: own.fsType }));
    const b = createNativeBackend({ confinement: "bubblewrap" });
    try {
      const ns = mountNs(own.holderPid)!;
      const req = script(plain, "true", { roots: [{ path: plain, writable: true, held: ownView.hold(plain) }] });
      expect((await b.run(req)).exit_code).toBe(0);
      await settle();
      expect(zygotesIn(ns).length).toBeGreaterThan(0);
      process.kill(own.holderPid, "SIGKILL");
      // The bound only stops a hang; no timing is asserted.
      for (let i = 0; i < 100 && zygotesIn(ns).length > 0; i++) await new Promise((r) => setTimeout(r, 100));
      expect(zygotesIn(ns)).toEqual([]);
      await expect(b.run(req)).rejects.toThrow(/holder \(pid \d+\) is gone/);
    } finally {
      await b.close();
      ownView.close();
      await own.close();
    }
  });
});
