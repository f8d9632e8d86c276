import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { buildResolveCommand, checkRootPins, decideResolved, RESOLVE_MARKER } from "../../../src/exec/ssh/remote-roots.js";

/** The resolve script run by a real /bin/sh on a tiny local tree, then decided. */
describe("remote working_directory resolution (script + decision, local /bin/sh)", () => {
  const dir = realpathSync(mkdtempSync(join(tmpdir(), "wrr-")));
  const root = join(dir, "root");
  mkdirSync(join(root, "a", "b"), { recursive: true });
  mkdirSync(join(dir, "out"));
  symlinkSync("../out", join(root, "esc"));
  symlinkSync("a/b", join(root, "in"));
  symlinkSync("root", join(dir, "rl"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const resolveHere = (path: string | undefined, roots: string[]) => {
    const plan = buildResolveCommand(path, roots);
    if (!plan.ok) return plan;
    const r = spawnSync("/bin/sh", ["-c", plan.command], { encoding: "utf8", env: { PATH: "/usr/bin:/bin", CDPATH: "/" } });
    return decideResolved({ code: r.status, stdout: r.stdout }, roots.map((path) => ({ path, writable: true })));
  };

  it.each([
    [undefined, ["ROOT"], "ROOT"],
    ["a", ["ROOT"], "ROOT/a"],
    ["a/b/..", ["ROOT"], "ROOT/a"],
    ["in", ["ROOT"], "ROOT/a/b"],
    ["ROOT/in", ["ROOT"], "ROOT/a/b"],
    ["a", ["DIR/rl"], "ROOT/a"],
    ["ROOT/a", ["DIR/nothing", "ROOT"], "ROOT/a"],
    ["/", ["/"], "/"],
    ["DIR/out", ["/"], "DIR/out"],
  ] as const)("%j in %j resolves to %j", (path, roots, want) => {
    const sub = (s: string) => s.replace("ROOT", root).replace("DIR", dir);
    const r = resolveHere(path === undefined ? undefined : sub(path), roots.map(sub));
    expect(r).toMatchObject({ ok: true, cwd: sub(want) });
  });

  it.each([
    ["..", ["ROOT"], "execution.ssh.roots"],
    ["a/../..", ["ROOT"], "execution.ssh.roots"],
    ["esc", ["ROOT"], "execution.ssh.roots"],
    ["in/../../..", ["ROOT"], "execution.ssh.roots"],
    ["DIR/out", ["ROOT"], "execution.ssh.roots"],
    ["DIR/rootx", ["ROOT"], "execution.working_directory"],
    ["missing", ["ROOT"], "execution.working_directory"],
    ["a", ["DIR/nothing"], "execution.no_root"],
    ["a\nb", ["ROOT"], "execution.working_directory"],
    ["a\0b", ["ROOT"], "execution.working_directory"],
    ["", ["ROOT"], "execution.working_directory"],
    ["a", ["relative"], "execution.ssh.roots"],
    ["a", ["ROOT\nx"], "execution.ssh.roots"],
    ["a", [], "execution.no_root"],
  ] as const)("%j in %j is refused (%s)", (path, roots, rule) => {
    const sub = (s: string) => s.replace("ROOT", root).replace("DIR", dir);
    expect(resolveHere(sub(path), roots.map(sub))).toMatchObject({ ok: false, rule });
  });

  it("keeps the configured spelling of a symlinked root as an alias", () => {
    expect(resolveHere("a", [join(dir, "rl")])).toEqual({ ok: true, cwd: join(root, "a"), roots: [{ path: root, writable: true, aliases: [join(dir, "rl")] }] });
  });

  it("skips start-up noise before the marker and fails closed on odd answers", () => {
    const roots = [{ path: "/r", writable: true }];
    expect(decideResolved({ code: 0, stdout: `motd ${RESOLVE_MARKER}\n${RESOLVE_MARKER}\0/r\n\0/r/x\n\0` }, roots)).toMatchObject({ ok: true, cwd: "/r/x" });
    expect(decideResolved({ code: 0, stdout: "/r/x\n" }, roots)).toMatchObject({ ok: false, rule: "execution.working_directory" });
    expect(decideResolved({ code: 0, stdout: `${RESOLVE_MARKER}\0/r\n\0` }, roots)).toMatchObject({ ok: false, rule: "execution.working_directory" });
    expect(decideResolved({ code: null, stdout: `${RESOLVE_MARKER}\0/r\n\0/r/x\n\0` }, roots)).toMatchObject({ ok: false });
    expect(decideResolved({ code: 0, stdout: `${RESOLVE_MARKER}\0/r\n\0/rx\n\0` }, roots)).toMatchObject({ ok: false, rule: "execution.ssh.roots" });
    expect(decideResolved({ code: 0, stdout: `${RESOLVE_MARKER}\0/r\n\0/r/a\nb\n\0` }, roots)).toMatchObject({ ok: false, rule: "execution.working_directory" });
  });
});

/** The answer of the resolve script for roots that resolved to `reals` ("" = missing) and a directory `cwd`. */
const answer = (reals: string[], cwd: string) => ({ code: 0, stdout: `${RESOLVE_MARKER}\0${reals.map((r) => (r ? `${r}\n` : "")).join("\0")}\0${cwd}\n\0` });

describe("a remote root nested in another must resolve inside it (issue 10: a parent replaced by a symlink)", () => {
  const roots = [
    { path: "/w", writable: true },
    { path: "/w/sub/ro", writable: false },
  ];
  it.each([
    [["/w", "/w/sub/ro"], "/w", true],
    [["/data/w", "/data/w/sub/ro"], "/data/w", true], // the outer root is a symlink: the inner one follows it
    [["/w", ""], "/w", true], // missing: not nested anywhere (checkRootPins refuses it once it was seen)
    [["/w", "/"], "/w", false], // sub/ro -> /
    [["/w", "/etc"], "/w", false],
    [["/w", "/w2/ro"], "/w", false],
    [["/w", "/wx/sub/ro"], "/w", false], // a prefix that is not a whole component
    [["/data/w", "/w/sub/ro"], "/data/w", false],
  ] as const)("roots resolved to %j: ok %s", (reals, cwd, ok) => {
    const r = decideResolved(answer([...reals], cwd), roots);
    expect(r.ok).toBe(ok);
    if (!r.ok) {
      expect(r.rule).toBe("roots.moved");
      expect(r.reason).toContain("/w/sub/ro");
    }
  });
  it("roots that only share a prefix are not nested", () => {
    expect(decideResolved(answer(["/w", "/elsewhere"], "/w"), [{ path: "/w", writable: true }, { path: "/wx", writable: false }]).ok).toBe(true);
  });
});

describe("remote roots keep resolving where they first did (checkRootPins)", () => {
  const root = (path: string, ...aliases: string[]) => ({ path, writable: true, ...(aliases.length ? { aliases } : {}) });
  it("pins every spelling on first sight and accepts the same answer again", () => {
    const first = checkRootPins(["/w", "/link"], [root("/w"), root("/data", "/link")], new Map());
    expect(first).toEqual({ ok: true, pins: new Map([["/w", "/w"], ["/data", "/data"], ["/link", "/data"]]) });
    expect(checkRootPins(["/w", "/link"], [root("/w"), root("/data", "/link")], first.ok ? first.pins : new Map())).toMatchObject({ ok: true });
  });
  it.each([
    ["a root replaced by a symlink to /", [root("/", "/w")], "/w"],
    ["a root replaced by a symlink elsewhere", [root("/etc", "/w")], "/w"],
    ["a symlinked root pointed elsewhere", [root("/w"), root("/other", "/link")], "/link"],
    ["a root moved away", [root("/data", "/link")], "/w"],
  ] as const)("refuses %s, naming it", (_what, resolved, named) => {
    const pins = new Map([["/w", "/w"], ["/data", "/data"], ["/link", "/data"]]);
    const r = checkRootPins(["/w", "/link"], resolved, pins);
    expect(r).toMatchObject({ ok: false, rule: "roots.moved" });
    if (!r.ok) expect(r.reason).toContain(`remote root ${named} `);
  });
  it("a root never seen before may be missing", () => {
    expect(checkRootPins(["/w", "/later"], [root("/w")], new Map([["/w", "/w"]]))).toMatchObject({ ok: true });
  });
});
