import { closeSync, existsSync, openSync, readFileSync } from "node:fs";
import type { Readable, Writable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createNativeBackend } from "../../../src/exec/native/index.js";
import type { Spawned } from "../../../src/exec/native/spawn-group.js";
import { createSpawner, spawnerBinary, type SpawnSpec, type Spawner } from "../../../src/exec/native/spawner.js";
import { cleanup, request, tempDir } from "../support.js";

// The spawner is built by `npm run build` (scripts/build.mjs) when a C compiler is present; CI has clang.
const built = existsSync(spawnerBinary());

const spec = (args: string[], more: Partial<SpawnSpec> = {}): SpawnSpec => ({ file: "/bin/sh", args: ["-c", ...args], env: { PATH: "/usr/bin:/bin" }, stdin: "ignore", extra: [], ...more });
const exited = (sub: Spawned) => new Promise<[number | null, string | null]>((resolve) => sub.on("exit", (code, signal) => resolve([code, signal])));
const text = (stream: Readable | null) =>
  new Promise<string>((resolve) => {
    let out = "";
    stream!.on("data", (c: Buffer) => (out += c.toString()));
    stream!.on("close", () => resolve(out));
  });
const alive = (pid: number) => {
  try {
    return !/^\S+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, "utf8"));
  } catch {
    return false;
  }
};

describe.runIf(built)("the launcher spawner (native/spawner.c)", () => {
  let spawner: Spawner;
  beforeAll(() => {
    spawner = createSpawner()!;
  });
  afterAll(() => spawner.close());

  it("reports exit codes and signals, and starts a session and group leader with an empty environment but what it is given", async () => {
    const { sub } = await spawner.spawn(spec(['echo "$FOO|${HOME-unset}"; [ "$(cut -d" " -f6 /proc/$$/stat)" = $$ ] && exit 7'], { env: { FOO: "bar" } }));
    const out = text(sub.stdout);
    expect(await exited(sub)).toEqual([7, null]);
    expect(await out).toBe("bar|unset\n");
    const killed = (await spawner.spawn(spec(["kill -TERM $$; sleep 5"]))).sub;
    expect(await exited(killed)).toEqual([null, "SIGTERM"]);
    await expect(killed).resolves.toMatchObject({ failed: true });
  });

  it("pipes stdin through to EOF, and hands over pipes and descriptors from 3 on", async () => {
    const dir = tempDir("spawner");
    const fd = openSync(dir, "r");
    try {
      const { sub } = await spawner.spawn(spec(['cat; echo info >&3; read go <&4; echo "$go" >&2; cd /proc/self/fd/5 && pwd -P'], { stdin: "pipe", extra: ["out", "in", fd] }));
      const [out, err, info] = [text(sub.stdout), text(sub.stderr), text(sub.stdio[3] as Readable)];
      sub.stdin!.end("from stdin\n");
      (sub.stdio[4] as Writable).end("go\n");
      expect(await exited(sub)).toEqual([0, null]);
      expect(await out).toBe(`from stdin\n${dir}\n`);
      expect(await info).toBe("info\n");
      expect(await err).toBe("go\n");
    } finally {
      closeSync(fd);
      cleanup(dir);
    }
  });

  it("a program that cannot be started is an error, not a process", async () => {
    const { sub } = await spawner.spawn({ ...spec([]), file: "/nonexistent/program" });
    const error = new Promise<Error>((resolve) => sub.on("error", resolve));
    expect((await error).message).toMatch(/ENOENT/);
    expect(sub.pid).toBeUndefined();
    await expect(sub).resolves.toMatchObject({ failed: true });
  });

  it("when the spawner is killed, its running processes are stopped with an error saying so, and the next spawn starts a new one", async () => {
    const { sub } = await spawner.spawn(spec(["sleep 30"]));
    const first = spawner.pid!;
    const pid = sub.pid!;
    expect(alive(pid)).toBe(true);
    process.kill(first, "SIGKILL");
    await expect(sub).resolves.toMatchObject({ failed: true, shortMessage: expect.stringMatching(/launcher spawner \(pid \d+\) was killed/) });
    await new Promise((r) => setTimeout(r, 100));
    expect(alive(pid)).toBe(false);
    const again = (await spawner.spawn(spec(["exit 3"]))).sub;
    expect(await exited(again)).toEqual([3, null]);
    expect(spawner.pid).not.toBe(first);
  });
});

describe.runIf(built)("the native backend with its spawner killed", () => {
  let root: string;
  beforeAll(() => {
    root = tempDir("spawner-backend");
  });
  afterAll(() => cleanup(root));

  it("a running command ends with the spawner's error (never hangs); the next command runs, and a timeout still stops one", async () => {
    const backend = createNativeBackend({ confinement: "bubblewrap" });
    try {
      const proc = await backend.start(request(root, ["/bin/sh", "-c", "echo started; sleep 30"]));
      const spawnerPid = spawnerOf(proc.pid!);
      expect(spawnerPid).toBeGreaterThan(0);
      process.kill(spawnerPid, "SIGKILL");
      const r = await proc.done;
      expect(r.error).toMatch(/launcher spawner .* was killed/);
      expect(r.exit_code).toBeNull();
      const next = await backend.run(request(root, ["/bin/sh", "-c", "read x; echo got $x; exit 4"], { stdin: "line\n" }));
      expect([next.exit_code, next.stdout]).toEqual([4, "got line\n"]);
      const slow = await backend.run(request(root, ["/bin/sleep", "30"], { timeoutMs: 300 }));
      expect(slow.timed_out).toBe(true);
    } finally {
      await backend.close();
    }
  });
});

/** The parent of a process (the spawner, for one it started). */
function spawnerOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
}
