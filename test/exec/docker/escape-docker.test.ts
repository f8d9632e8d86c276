import { chownSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, renameSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseMountinfo } from "../../../src/exec/native/mount-check.js";
import { startDockerEngine, type DockerEngine } from "../../support/engines/docker-engine.js";
import { engineUnsupported } from "../../support/engines/require-binary.js";
import { canary, makeTempDir, removeDir, writeTree } from "../../support/tree.js";
import { startWarden, type WardenClient } from "../../support/warden-client.js";

const unsupported = engineUnsupported();
/** The container user (owns the read-write root, as a real deployment would arrange). */
const NOBODY = 65534;

/**
 * The red team's nested-root escape (issue 10, test/server/command-escape.test.ts) against the
 * docker backend's own mounts, through `warden serve --backend docker` and a real dockerd. dockerd
 * binds volumes by host path, so a nested root whose parent a command could replace by a symlink to
 * / would bind the host's / into the container. The busybox image has no python3: the attacker has
 * `sh` (listed in commands.shells), mv, mkdir, ln. Every check has a canary outside the roots, and
 * the host's root filesystem is also looked for in every container's mount table from outside.
 */
describe.skipIf(unsupported !== null)(`docker backend red team (warden serve --backend docker -> dockerd)${unsupported ? ` (skipped: ${unsupported})` : ""}`, () => {
  let engine: DockerEngine;
  let base: string;
  let secret: string;
  let policyFile: string;
  const servers: WardenClient[] = [];

  beforeAll(async () => {
    engine = await startDockerEngine();
    base = makeTempDir("warden-escape-docker-");
    secret = canary("DOCKER-ESCAPE");
    writeTree(base, { "outside/canary.txt": secret });
    policyFile = join(base, "policy.json");
    writeFileSync(
      policyFile,
      JSON.stringify({
        commands: {
          allow: ["mv", "mkdir", "ln", "cat", "echo", "ls", "rmdir"].map((program) => ({ program })),
          shells: ["sh"],
          trusted_path: ["/usr/bin", "/bin"],
        },
        execution: { docker: { image: engine.image, user: `${NOBODY}:${NOBODY}` }, memory_mb: 128, processes: 64 },
      }),
    );
  });
  afterAll(async () => {
    for (const w of servers) await w.close().catch(() => {});
    await engine?.stop();
    if (base) removeDir(base);
  });

  const outside = () => join(base, "outside");
  const pwned = () => readdirSync(outside()).filter((n) => n.startsWith("pwned-"));

  /** A read-write root `name` holding a read-only root at `sub/ro`, owned by the container's user. */
  function tree(name: string): { root: string; ro: string } {
    const root = join(base, name);
    writeTree(base, { [`${name}/keep.txt`]: "work\n", [`${name}/sub/ro/ro.txt`]: "read-only\n" });
    for (const dir of [root, join(root, "sub")]) chownSync(dir, NOBODY, NOBODY);
    return { root, ro: join(root, "sub", "ro") };
  }

  async function serve(root: string, ro: string): Promise<WardenClient> {
    const w = await startWarden(["--backend", "docker", "--policy", policyFile, "--root", root, "--read-only", ro], { env: { DOCKER_HOST: engine.dockerHost }, cwd: root });
    servers.push(w);
    return w;
  }

  /**
   * A command that reports the outside canary if it can see it: at its own path, or below any place
   * where a bind of the host's / could have landed (the nested root, its parent, their new names).
   * It also tries to leave a file beside the canary.
   */
  const probe = (root: string, tag: string) => {
    const c = join(outside(), "canary.txt");
    const places = ["", join(root, "sub", "ro"), join(root, "sub2", "ro"), join(root, "sub"), join(root, "sub2")];
    return `sh -c 'for d in ${places.map((p) => `"${p}"`).join(" ")}; do
  if [ -e "$d${c}" ]; then echo "LEAK:$(cat "$d${c}")"; if echo x > "$d${outside()}/pwned-${tag}"; then echo WROTE; fi; fi
done
echo absent'`;
  };

  /** Mounts of the host's root directory (device of the host's /, path "/" in it) in any container of the engine. */
  async function hostRootInContainers(): Promise<string[]> {
    const hostRoot = parseMountinfo(readFileSync("/proc/self/mountinfo", "utf8")).filter((l) => l.mountPoint === "/").at(-1)!;
    const found: string[] = [];
    for (const c of await engine.docker.listContainers()) {
      const pid = (await engine.docker.getContainer(c.Id).inspect()).State.Pid;
      if (!pid) continue;
      for (const l of parseMountinfo(readFileSync(`/proc/${pid}/mountinfo`, "utf8"))) {
        if (l.dev === hostRoot.dev && l.root === "/") found.push(`${c.Id.slice(0, 12)}: host / at ${l.mountPoint}`);
      }
    }
    return found;
  }

  /** Containers of the engine with a mount whose host source is `dir` or below it. */
  async function containersBinding(dir: string): Promise<string[]> {
    const found: string[] = [];
    for (const c of await engine.docker.listContainers({ all: true })) {
      for (const m of (await engine.docker.getContainer(c.Id).inspect()).Mounts) {
        if (m.Source === dir || m.Source.startsWith(`${dir}/`)) found.push(`${c.Id.slice(0, 12)}: ${m.Source}`);
      }
    }
    return found;
  }

  async function expectNoLeak(w: WardenClient, root: string, tag: string): Promise<void> {
    const look = await w.call("execute_command", { command: probe(root, tag) });
    expect(look.isError, w.text(look)).toBeFalsy();
    expect(w.text(look)).toContain("absent");
    expect(w.text(look)).not.toContain("LEAK");
    expect(w.text(look)).not.toContain(secret);
    expect(await hostRootInContainers()).toEqual([]);
    expect(pwned()).toEqual([]);
  }

  it("a nested read-only root: a command can neither move its parent nor replace it by a symlink to /, now or in a later server", async () => {
    const { root, ro } = tree("a");
    const w = await serve(root, ro);
    // The container exists and the roots are where they belong.
    const ls = await w.call("execute_command", { command: "cat sub/ro/ro.txt" });
    expect(w.text(ls)).toContain("read-only");

    const attack = await w.call("execute_command", { command: "mv sub sub2 && mkdir sub && ln -s / sub/ro" });
    // sub is bound onto itself in the container: busybox mv says "can't rename 'sub': Resource busy".
    expect(w.text(attack)).toMatch(/busy/i);
    expect(lstatSync(join(root, "sub")).isDirectory()).toBe(true);
    expect(existsSync(join(root, "sub2"))).toBe(false);
    expect(readFileSync(join(ro, "ro.txt"), "utf8")).toBe("read-only\n");

    // The other ways round: the nested root itself, and its contents.
    for (const [command, why] of [
      ["mv sub/ro sub/ro2", /busy/i],
      ["rmdir sub/ro", /busy|not empty/i],
      [`sh -c 'echo pwned > sub/ro/ro.txt'`, /Read-only file system/],
      [`sh -c 'echo pwned > sub/ro/new.txt'`, /Read-only file system/],
    ] as const) {
      const r = await w.call("execute_command", { command });
      expect(w.text(r), command).toMatch(why);
    }
    expect(readdirSync(ro)).toEqual(["ro.txt"]);
    expect(readFileSync(join(ro, "ro.txt"), "utf8")).toBe("read-only\n");
    await expectNoLeak(w, root, "nested");
    await w.close();

    // A new server (a new session container) on the same tree: nothing the command did carries over.
    const later = await serve(root, ro);
    await expectNoLeak(later, root, "nested-later");
    const still = await later.call("execute_command", { command: `sh -c 'echo pwned > sub/ro/ro.txt'` });
    expect(later.text(still)).toMatch(/Read-only file system/);
    expect(readFileSync(join(ro, "ro.txt"), "utf8")).toBe("read-only\n");
    await later.close();
  });

  it("the same moves done by a host process: commands are refused with roots.moved naming the nested root", async () => {
    const { root, ro } = tree("b");
    const w = await serve(root, ro);
    // The session container is made first, with the roots as they were.
    const before = await w.call("execute_command", { command: "cat sub/ro/ro.txt" });
    expect(w.text(before)).toContain("read-only");

    renameSync(join(root, "sub"), join(root, "sub2"));
    mkdirSync(join(root, "sub"));
    symlinkSync("/", join(root, "sub", "ro"));

    for (const [tag, command] of [
      ["moved", probe(root, "moved")],
      ["write", `sh -c 'echo pwned > ${join(root, "sub2", "ro", "ro.txt")}'`],
    ] as const) {
      const r = await w.call("execute_command", { command });
      expect(r.isError, `${tag}: ${w.text(r)}`).toBe(true);
      expect(w.text(r)).toContain("roots.moved");
      expect(w.text(r)).toContain(ro);
      expect(w.text(r)).not.toContain(secret);
    }
    expect(readFileSync(join(root, "sub2", "ro", "ro.txt"), "utf8")).toBe("read-only\n");
    expect(await hostRootInContainers()).toEqual([]);
    expect(pwned()).toEqual([]);
    await w.close();
  });

  it("the same moves done by a host process before the first command: roots.moved, not a missing program", async () => {
    const { root, ro } = tree("b0");
    const w = await serve(root, ro);
    renameSync(join(root, "sub"), join(root, "sub2"));
    mkdirSync(join(root, "sub"));
    symlinkSync("/", join(root, "sub", "ro"));
    const r = await w.call("execute_command", { command: probe(root, "moved-first") });
    expect(r.isError, w.text(r)).toBe(true);
    expect(w.text(r)).toContain("roots.moved");
    expect(w.text(r)).toContain(ro);
    expect(w.text(r)).not.toContain(secret);
    expect(await hostRootInContainers()).toEqual([]);
    expect(pwned()).toEqual([]);
    await w.close();
  });

  it("a configured root replaced after start (renamed away, a new empty directory at its path) is refused by name", async () => {
    const root = join(base, "c");
    writeTree(base, { "c/f.txt": "one\n", "c/ro/r.txt": "r\n" });
    chownSync(root, NOBODY, NOBODY);
    const w = await serve(root, join(root, "ro"));
    const before = await w.call("execute_command", { command: "cat f.txt" });
    expect(w.text(before)).toContain("one");
    renameSync(root, join(base, "c-moved"));
    mkdirSync(root);
    chownSync(root, NOBODY, NOBODY);
    const cmd = await w.call("execute_command", { command: "ls" });
    expect(cmd.isError, w.text(cmd)).toBe(true);
    expect(w.text(cmd)).toContain("roots.moved");
    expect(w.text(cmd)).toContain(root);
    await w.close();
  });

  it("a configured root replaced before the first command: refused by name, and no container binds the directory now at its path", async () => {
    const root = join(base, "d");
    writeTree(base, { "d/f.txt": "one\n", "d/ro/r.txt": "r\n" });
    chownSync(root, NOBODY, NOBODY);
    const w = await serve(root, join(root, "ro"));
    renameSync(root, join(base, "d-moved"));
    mkdirSync(join(root, "ro"), { recursive: true });
    chownSync(root, NOBODY, NOBODY);
    const cmd = await w.call("execute_command", { command: "ls" });
    expect(cmd.isError, w.text(cmd)).toBe(true);
    expect(w.text(cmd)).toContain("roots.moved");
    expect(w.text(cmd)).toContain(root);
    expect(await containersBinding(root)).toEqual([]);
    await w.close();
  });
});
