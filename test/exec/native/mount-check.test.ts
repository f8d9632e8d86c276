import { constants, existsSync, mkdirSync, openSync, closeSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ExecRefusal } from "../../../src/exec/errors.js";
import { readHostLayout } from "../../../src/exec/native/host-layout.js";
import { launch } from "../../../src/exec/native/launch.js";
import { MASK_ATTACH_PATH, maskAttachWords } from "../../../src/exec/native/mask-attach.js";
import { createMaskSources } from "../../../src/exec/native/mask-sources.js";
import { checkSelfBinds, parseMountinfo, type MountinfoLine } from "../../../src/exec/native/mount-check.js";
import { GATE_BWRAP_ARGS, GATE_FD, gatedCommand } from "../../../src/exec/native/mount-gate.js";
import { mountPlan, type MaskAttach, type PlannedMount } from "../../../src/exec/native/mount-plan.js";
import { whichSync } from "../../../src/exec/native/which.js";
import { requireBinary } from "../../support/engines/require-binary.js";
import { cleanup, request, tempDir } from "../support.js";

const id = (ino: number) => ({ dev: "1", ino: String(ino) });
const line = (id: number, parent: number, dev: string, root: string, mountPoint: string): MountinfoLine => ({ id, parent, dev, root, mountPoint });

describe("parseMountinfo", () => {
  it("reads the fields the check needs and unescapes octal (space, tab, newline, backslash)", () => {
    const text = "80 79 254:0 /w/a\\040b /w/a\\040b rw,nosuid - ext4 /dev/vda rw\n81 80 254:0 /w/a\\134c\\012d /w/x rw - ext4 /dev/vda rw\n";
    expect(parseMountinfo(text)).toEqual([line(80, 79, "254:0", "/w/a b", "/w/a b"), line(81, 80, "254:0", "/w/a\\c\nd", "/w/x")]);
  });
});

describe("checkSelfBinds", () => {
  const self = (dest: string): PlannedMount => ({ dest, expect: id(1), self: true });
  const cases: { name: string; mounts: PlannedMount[]; lines: MountinfoLine[]; ok: boolean }[] = [
    {
      name: "a pin bound onto itself inside a root",
      mounts: [self("/w/a/x")],
      lines: [line(66, 1, "0:39", "/newroot", "/"), line(80, 66, "254:0", "/srv/w/a", "/w/a"), line(81, 80, "254:0", "/srv/w/a/x", "/w/a/x")],
      ok: true,
    },
    {
      name: "a pin that landed on another directory (x swapped for a symlink to y)",
      mounts: [self("/w/a/x")],
      lines: [line(66, 1, "0:39", "/newroot", "/"), line(80, 66, "254:0", "/srv/w/a", "/w/a"), line(81, 80, "254:0", "/srv/w/a/x", "/w/a/y")],
      ok: false,
    },
    {
      name: "x renamed after the mount so the mount point reads right, but the source is elsewhere",
      mounts: [self("/w/a/x")],
      lines: [line(66, 1, "0:39", "/newroot", "/"), line(80, 66, "254:0", "/srv/w/a", "/w/a"), line(81, 80, "254:0", "/srv/w/a/z", "/w/a/x")],
      ok: false,
    },
    {
      name: "a bind of another filesystem at the place",
      mounts: [self("/w/a/x")],
      lines: [line(66, 1, "0:39", "/newroot", "/"), line(80, 66, "254:0", "/srv/w/a", "/w/a"), line(81, 80, "254:1", "/srv/w/a/x", "/w/a/x")],
      ok: false,
    },
    { name: "nothing mounted there", mounts: [self("/w/a/x")], lines: [line(80, 66, "254:0", "/srv/w/a", "/w/a")], ok: false },
    {
      name: "the topmost of two mounts at the place decides",
      mounts: [self("/w/a/x")],
      lines: [line(80, 66, "254:0", "/srv/w/a", "/w/a"), line(81, 80, "254:0", "/srv/w/a/x", "/w/a/x"), line(82, 81, "254:0", "/etc", "/w/a/x")],
      ok: false,
    },
    {
      name: "a nested root under a host mount carried along (root of its own filesystem)",
      mounts: [self("/w/a/m")],
      lines: [line(80, 66, "254:0", "/srv/w/a", "/w/a"), line(81, 80, "8:1", "/", "/w/a/m"), line(82, 81, "8:1", "/", "/w/a/m")],
      ok: true,
    },
    {
      name: "a parent mounted at /",
      mounts: [self("/opt/p")],
      lines: [line(66, 1, "254:0", "/", "/"), line(70, 66, "254:0", "/opt/p", "/opt/p")],
      ok: true,
    },
    { name: "mounts that are not self-binds are not judged here", mounts: [{ dest: "/w/a/.env", expect: id(1), self: false }], lines: [], ok: true },
  ];
  for (const c of cases) {
    it(`${c.ok ? "accepts" : "refuses"} ${c.name}`, () => {
      const why = checkSelfBinds(c.mounts, c.lines);
      if (c.ok) expect(why).toBeNull();
      else expect(why).toEqual(expect.any(String));
    });
  }
});

/** The gate with real bubblewrap: the command starts only when every planned mount is what the plan says. */
describe("the mount gate (real bubblewrap)", () => {
  let base: string;
  let rootFd: number;
  const masks = createMaskSources();
  beforeAll(() => {
    requireBinary("bwrap", "bubblewrap");
    base = tempDir("gate");
    mkdirSync(join(base, "sub"));
    writeFileSync(join(base, "sub", ".env"), "SECRET=1\n");
    rootFd = openSync(base, constants.O_RDONLY | constants.O_DIRECTORY);
  });
  afterAll(() => {
    closeSync(rootFd);
    masks.dispose();
    cleanup(base);
  });

  /** `attach`: the masks are attached by the helper (mask-attach.ts), their records changed by it first. */
  async function start(tamper: (mounts: PlannedMount[]) => PlannedMount[], marker: string, attach?: (masks: MaskAttach[]) => MaskAttach[]) {
    const st = statSync(base, { bigint: true });
    const sub = statSync(join(base, "sub"), { bigint: true });
    const plan = mountPlan(
      {
        roots: [{ path: base, writable: true, slot: GATE_FD.firstRoot, id: { dev: String(st.dev), ino: String(st.ino) } }],
        pins: [{ path: join(base, "sub"), writable: true, id: { dev: String(sub.dev), ino: String(sub.ino) } }],
        masks: { files: [join(base, "sub", ".env")], dirs: [] },
        maskSources: masks.get(),
        cwd: base,
        network: false,
        attachMasks: attach !== undefined,
      },
      readHostLayout(),
    );
    const helper = attach ? maskAttachWords(MASK_ATTACH_PATH, { ...plan, attach: attach(plan.attach) }) : [];
    let released = 0;
    const bwrap = whichSync("bwrap", ["/usr/bin", "/bin", "/usr/local/bin"])!;
    const req = request(base, ["/bin/sh", "-c", `touch ${marker}; cat sub/.env; echo ran`]);
    const proc = await launch(
      {
        file: helper[0] ?? bwrap,
        args: [...helper.slice(1), ...(helper.length ? [bwrap] : []), ...GATE_BWRAP_ARGS, ...plan.args, "--", ...gatedCommand(req.argv, base)],
        cwd: base,
        sandboxed: true,
        gate: { mounts: tamper(plan.mounts), fds: [rootFd], release: () => released++ },
      },
      req,
      { interactive: false, killGraceMs: 200 },
    );
    return { proc, released: () => released };
  }

  it("opens when every mount matches: the command runs and sees the mask", async () => {
    const { proc, released } = await start((m) => m, "ok-marker");
    await proc.ready;
    const r = await proc.done;
    expect(r.stdout).toBe("ran\n"); // the masked .env reads as empty
    expect(existsSync(join(base, "ok-marker"))).toBe(true);
    expect(released()).toBe(1);
  });

  it("stays shut when a destination shows something else than planned: the command never starts", async () => {
    const { proc, released } = await start((m) => m.map((x) => (x.dest.endsWith("/.env") ? { ...x, expect: { dev: "1", ino: "1" } } : x)), "bad-marker");
    await expect(proc.ready).rejects.toBeInstanceOf(ExecRefusal);
    await expect(proc.ready).rejects.toMatchObject({ rule: "sandbox.mounts" });
    await proc.done;
    expect(existsSync(join(base, "bad-marker"))).toBe(false);
    expect(released()).toBe(1);
  });

  it("stays shut when a directory holding masks changed after the deny scan (ctime): the command never starts", async () => {
    const sub = statSync(join(base, "sub"), { bigint: true });
    const withCtime = (m: PlannedMount[], ctime: string) => m.map((x) => (x.dest === join(base, "sub") ? { ...x, expect: { ...x.expect, ctime } } : x));
    // As judged: it opens.
    const same = await start((m) => withCtime(m, String(sub.ctimeNs)), "same-ctime-marker");
    await same.proc.ready;
    await same.proc.done;
    expect(existsSync(join(base, "same-ctime-marker"))).toBe(true);
    // An entry renamed since: another ctime, it stays shut.
    const changed = await start((m) => withCtime(m, String(sub.ctimeNs - 1n)), "changed-ctime-marker");
    await expect(changed.proc.ready).rejects.toMatchObject({ rule: "sandbox.mounts", message: expect.stringContaining("entries changed") });
    await changed.proc.done;
    expect(existsSync(join(base, "changed-ctime-marker"))).toBe(false);
  });

  it("with the masks attached by the helper: opens when they are, stays shut when one cannot be", async () => {
    const ok = await start((m) => m, "attach-ok-marker", (a) => a);
    await ok.proc.ready;
    expect((await ok.proc.done).stdout).toBe("ran\n");
    // The holder is not the judged directory: the helper refuses, the gate never opens.
    const bad = await start((m) => m, "attach-bad-marker", (a) => a.map((x) => (x.kind === "pin" ? x : { ...x, holder: { dev: x.holder.dev, ino: "1" } })));
    await expect(bad.proc.ready).rejects.toMatchObject({ rule: "sandbox.mounts", message: expect.stringContaining("a mount inside a root (a pin or a deny mask) could not be attached: the directory holding") });
    await bad.proc.done;
    expect(existsSync(join(base, "attach-bad-marker"))).toBe(false);
    // The pin is not the judged directory: the same.
    const pin = await start((m) => m, "attach-pin-marker", (a) => a.map((x) => (x.kind === "pin" ? { ...x, holder: { dev: x.holder.dev, ino: "1" } } : x)));
    await expect(pin.proc.ready).rejects.toMatchObject({ rule: "sandbox.mounts", message: expect.stringContaining("is not the directory the server judged") });
    await pin.proc.done;
    expect(existsSync(join(base, "attach-pin-marker"))).toBe(false);
    expect(readFileSync(join(base, "sub", ".env"), "utf8")).toBe("SECRET=1\n");
  });

  it("bubblewrap failing before the gate is a refusal to prepare again, with its reason, never the command's output", async () => {
    const bwrap = whichSync("bwrap", ["/usr/bin", "/bin", "/usr/local/bin"])!;
    const req = request(base, ["/bin/sh", "-c", "touch never-marker"]);
    const proc = await launch(
      {
        file: bwrap,
        args: [...GATE_BWRAP_ARGS, "--ro-bind", join(base, "gone"), join(base, "gone"), "--", ...gatedCommand(req.argv, "/")],
        cwd: base,
        sandboxed: true,
        gate: { mounts: [], fds: [], release: () => undefined },
      },
      req,
      { interactive: false, killGraceMs: 200 },
    );
    await expect(proc.ready).rejects.toMatchObject({ rule: "sandbox.changed", message: expect.stringContaining("the sandbox could not be set up, so the command was not started (bwrap: Can't find source path") });
    await proc.done;
    expect(existsSync(join(base, "never-marker"))).toBe(false);
  });

  it("stays shut when a self-bind is not on its own directory", async () => {
    // Planned as a bind of `sub` onto itself at the root's place: the relation cannot hold.
    const { proc } = await start((m) => m.map((x) => (x.dest === base ? { ...x, self: true } : x)), "self-marker");
    await expect(proc.ready).rejects.toMatchObject({ rule: "sandbox.mounts" });
    await proc.done;
    expect(existsSync(join(base, "self-marker"))).toBe(false);
  });
});
