import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createNativeBackend } from "../../../src/exec/native/index.js";
import { zygoteFeed } from "../../../src/exec/native/zygote.js";
import type { ExecBackend } from "../../../src/exec/types.js";
import { cleanup, processesWith, request, sandboxNode, tempDir } from "../support.js";

const childrenNamed = (name: string) =>
  processesWith(name).filter((pid) => {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]) === process.pid;
  });
const settle = () => new Promise((r) => setTimeout(r, 150));

describe("prestarted launchers (zygotes)", () => {
  let backend: ExecBackend;
  let root: string;
  beforeAll(() => {
    backend = createNativeBackend({ confinement: "bubblewrap" });
    root = tempDir("zygote");
  });
  afterAll(async () => {
    await backend.close();
    cleanup(root);
  });

  it("keeps one launcher ready after a command and uses it for the next", async () => {
    await backend.run(request(root, ["/bin/true"]));
    await settle();
    const [waiting] = childrenNamed("warden-zygote");
    expect(waiting).toBeDefined();
    const r = await backend.run(request(root, ["/bin/sh", "-c", "echo $PPID; cat /proc/self/cgroup | grep -c warden"]));
    expect(r.exit_code).toBe(0);
    await settle();
    expect(childrenNamed("warden-zygote")).not.toContain(waiting);
  });

  it.each([
    ["quotes", ["it's", '"double"', "back\\slash", "$HOME", "`id`", "$(id)"]],
    ["newlines", ["line one\nline two", "\n", ""]],
    ["a fake terminator", ["__warden_0000000000000000__", "'; rm -rf /; '"]],
  ])("passes arguments with %s through unchanged", async (_name, args) => {
    await settle();
    const r = await backend.run(request(root, [sandboxNode(), "-e", "console.log(JSON.stringify(process.argv.slice(1)))", ...args]));
    expect(JSON.parse(r.stdout)).toEqual(args);
  });

  it("passes exactly the request's environment", async () => {
    await settle();
    const r = await backend.run(request(root, ["/usr/bin/env"], { env: { A: "1", PATH: "/usr/bin", HOME: "/home/warden" } }));
    // PWD (the working directory, set when the gate enters it) is the only addition.
    const lines = r.stdout.trim().split("\n").sort();
    expect(lines.filter((l) => !l.startsWith("PWD="))).toEqual(["A=1", "HOME=/home/warden", "PATH=/usr/bin"]);
    expect(lines.filter((l) => l.startsWith("PWD="))).toEqual([`PWD=${root}`]);
  });

  it("refuses to feed a command containing its terminator", () => {
    expect(zygoteFeed(["a", "x__T__y"], "__T__")).toBeNull();
    expect(zygoteFeed(["a b", "c'd"], "__T__")).toBe(`'a b' 'c'\\''d'\n__T__\n`);
  });

  it("kills the ready launcher at close", async () => {
    const b = createNativeBackend({ confinement: "bubblewrap" });
    await b.run(request(root, ["/bin/true"]));
    await settle();
    const before = childrenNamed("warden-zygote").length;
    await b.close();
    await settle();
    expect(childrenNamed("warden-zygote").length).toBeLessThan(before);
  });
});
