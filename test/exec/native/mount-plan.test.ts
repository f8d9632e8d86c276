import { describe, expect, it } from "vitest";
import type { HostLayout } from "../../../src/exec/native/host-layout.js";
import { mountPlan, type MountPlanInput } from "../../../src/exec/native/mount-plan.js";

const id = (n: number) => ({ dev: "1", ino: String(n) });
const layout: HostLayout = {
  system: [{ path: "/usr", id: id(10) }, { path: "/bin", symlink: "usr/bin" }, { path: "/etc", id: id(11) }],
  maskedFiles: ["/etc/shadow"],
  maskedDirs: ["/etc/ssl/private"],
};
const maskSources = { file: { path: "/m/empty", id: id(1) }, dir: { path: "/m/empty-dir", id: id(2) } };
const base: MountPlanInput = {
  roots: [{ path: "/work/p", writable: true, slot: 6, id: id(100) }],
  pins: [],
  masks: { files: [], dirs: [] },
  maskSources,
  cwd: "/work/p",
  network: false,
};

function triples(args: string[], flag: string): string[][] {
  const out: string[][] = [];
  args.forEach((a, i) => {
    if (a === flag) out.push(args.slice(i + 1, i + 3));
  });
  return out;
}
const at = (args: string[], ...seq: string[]) => args.findIndex((_, i) => seq.every((s, j) => args[i + j] === s));

describe("mountPlan", () => {
  it("attaches the masks inside the roots by descriptor when asked: none is a bubblewrap bind, each names its holder", () => {
    const input: MountPlanInput = {
      ...base,
      pins: [{ path: "/work/p/a", writable: true, id: id(200) }],
      masks: { files: ["/work/p/.env", "/work/p/a/id_rsa"], dirs: ["/work/p/a/.ssh"] },
      attachMasks: true,
    };
    const plan = mountPlan(input, layout);
    expect(plan.attach).toEqual([
      { kind: "pin", path: "/work/p/a", holder: id(200) },
      { kind: "dir", path: "/work/p/a/.ssh", holder: id(200) },
      { kind: "file", path: "/work/p/.env", holder: id(100) },
      { kind: "file", path: "/work/p/a/id_rsa", holder: id(200) },
    ]);
    expect(plan.sources).toBe(maskSources);
    const bound = triples(plan.args, "--ro-bind").map((t) => t[1]);
    for (const m of ["/work/p/.env", "/work/p/a/id_rsa", "/work/p/a/.ssh"]) expect(bound).not.toContain(m);
    // The pin too: bubblewrap resolves no path inside a root (it would follow a symlink planted there).
    expect(triples(plan.args, "--bind").map((t) => t[1])).not.toContain("/work/p/a");
    expect(plan.mounts).toContainEqual({ dest: "/work/p/a", expect: id(200), self: true });
    expect(bound).toContain("/etc/shadow"); // outside the roots: bubblewrap's, as before
    // The sources, staged last for the helper to clone inside the sandbox (it removes the stage).
    expect(plan.args.slice(-8, -2)).toEqual(["--ro-bind", "/m/empty", "/.warden-mask-sources/file", "--ro-bind", "/m/empty-dir", "/.warden-mask-sources/dir"]);
    expect(plan.mounts.some((m) => m.dest.startsWith("/.warden"))).toBe(false);
    // Still checked by the gate like any mount, and the same binds for a runtime that takes a list.
    expect(plan.mounts).toContainEqual({ dest: "/work/p/.env", expect: id(1), self: false });
    expect(plan.binds).toContainEqual({ source: "/m/empty", dest: "/work/p/a/id_rsa", writable: false });
    // Without the helper, the same masks are bubblewrap binds.
    const fallback = mountPlan({ ...input, attachMasks: false }, layout);
    expect(fallback.attach).toEqual([]);
    expect(triples(fallback.args, "--ro-bind")).toContainEqual(["/m/empty", "/work/p/a/id_rsa"]);
    expect(triples(fallback.args, "--bind")).toContainEqual(["/work/p/a", "/work/p/a"]);
  });

  it("pins alone are attached too, shallow before deep, with no stage; a nested root stays bubblewrap's, by descriptor", () => {
    const input: MountPlanInput = {
      ...base,
      roots: [...base.roots, { path: "/work/p/x/ro", writable: false, slot: 7, id: id(300) }],
      pins: [
        { path: "/work/p/x/ro/deep", writable: false, id: id(302) },
        { path: "/work/p/x", writable: true, id: id(301) },
      ],
      attachMasks: true,
    };
    const plan = mountPlan(input, layout);
    expect(plan.attach).toEqual([
      { kind: "pin", path: "/work/p/x", holder: id(301) },
      { kind: "pin", path: "/work/p/x/ro/deep", holder: id(302) },
    ]);
    expect(triples(plan.args, "--ro-bind-fd")).toContainEqual(["7", "/work/p/x/ro"]);
    expect(plan.args.join(" ")).not.toContain("/.warden-mask-sources");
    expect(plan.args.join(" ")).not.toContain("/work/p/x/ro/deep");
  });

  it("a root hidden whole stays a bubblewrap bind: no root or pin holds it; so do all masks under a root /", () => {
    const plan = mountPlan({ ...base, masks: { files: [], dirs: ["/work/p"] }, attachMasks: true }, layout);
    expect(plan.attach).toEqual([]);
    expect(triples(plan.args, "--ro-bind")).toContainEqual(["/m/empty-dir", "/work/p"]);
    expect(plan.args.join(" ")).not.toContain("/.warden-mask-sources");
    const all = mountPlan({ ...base, roots: [{ path: "/", writable: false, slot: 6, id: id(100) }], masks: { files: ["/.env"], dirs: [] }, attachMasks: true }, layout);
    expect(all.attach).toEqual([]);
    expect(triples(all.args, "--ro-bind")).toContainEqual(["/m/empty", "/.env"]);
  });

  it("isolates by default: pid, ipc, net, caps, session, parent death", () => {
    const { args } = mountPlan(base, layout);
    for (const f of ["--unshare-pid", "--unshare-ipc", "--unshare-net", "--die-with-parent", "--new-session"]) expect(args).toContain(f);
    expect(args.join(" ")).toContain("--cap-drop ALL");
  });

  it("keeps the network only when asked", () => {
    expect(mountPlan({ ...base, network: true }, layout).args).not.toContain("--unshare-net");
  });

  it("binds system dirs read-only, recreates symlinks, covers /etc secrets with the held empty file and directory", () => {
    const { args, mounts } = mountPlan(base, layout);
    expect(triples(args, "--ro-bind")).toContainEqual(["/usr", "/usr"]);
    expect(triples(args, "--symlink")).toContainEqual(["usr/bin", "/bin"]);
    expect(triples(args, "--ro-bind")).toContainEqual(["/m/empty", "/etc/shadow"]);
    expect(triples(args, "--ro-bind")).toContainEqual(["/m/empty-dir", "/etc/ssl/private"]);
    expect(args.lastIndexOf("/etc/shadow")).toBeGreaterThan(args.indexOf("/etc"));
    expect(args[args.indexOf("/home/warden") - 1]).toBe("--dir");
    expect(mounts).toContainEqual({ dest: "/usr", expect: id(10), self: false });
    expect(mounts).toContainEqual({ dest: "/etc/shadow", expect: id(1), self: false });
  });

  it("never binds a root, pin or mask by a path a root's content could change: roots by descriptor", () => {
    const { args } = mountPlan({ ...base, roots: [...base.roots, { path: "/work/q", writable: false, slot: 7, id: id(101) }] }, layout);
    expect(triples(args, "--bind-fd")).toEqual([["6", "/work/p"]]);
    expect(triples(args, "--ro-bind-fd")).toEqual([["7", "/work/q"]]);
    expect(triples(args, "--bind").map((t) => t[0])).not.toContain("/work/p");
    const sources = [...triples(args, "--bind"), ...triples(args, "--ro-bind")].map((p) => p[0]);
    expect(sources).not.toContain("/");
    expect(sources.some((s) => s === "/root" || s === "/home")).toBe(false);
  });

  it("binds roots by access, shallow before deep, after the private /tmp; a nested root is a bind onto itself", () => {
    const { args, mounts } = mountPlan(
      {
        ...base,
        roots: [
          { path: "/tmp/a/ro", writable: false, slot: 7, id: id(201) },
          { path: "/tmp/a", writable: true, slot: 6, id: id(200) },
        ],
        cwd: "/tmp/a",
      },
      layout,
    );
    const rw = at(args, "--bind-fd", "6", "/tmp/a");
    const ro = at(args, "--ro-bind-fd", "7", "/tmp/a/ro");
    expect(rw).toBeGreaterThan(args.indexOf("/tmp"));
    expect(rw).toBeLessThan(ro);
    expect(args.slice(-2)).toEqual(["--chdir", "/"]); // never a root: the gate enters the cwd once every mount is in place
    expect(mounts.find((m) => m.dest === "/tmp/a")).toEqual({ dest: "/tmp/a", expect: id(200), self: false });
    expect(mounts.find((m) => m.dest === "/tmp/a/ro")).toEqual({ dest: "/tmp/a/ro", expect: id(201), self: true });
  });

  it("masks secrets after the roots, so a root at / or /etc cannot uncover them", () => {
    const { args } = mountPlan({ ...base, roots: [{ path: "/", writable: true, slot: 6, id: id(3) }], cwd: "/" }, layout);
    expect(args.lastIndexOf("/etc/shadow")).toBeGreaterThan(args.indexOf("--bind-fd"));
    expect(args.lastIndexOf("/etc/ssl/private")).toBeGreaterThan(args.indexOf("--bind-fd"));
  });

  describe("with deny masks", () => {
    const { args, mounts } = mountPlan(
      {
        ...base,
        roots: [
          { path: "/w/ro", writable: false, slot: 7, id: id(301) },
          { path: "/w", writable: true, slot: 6, id: id(300) },
        ],
        pins: [
          { path: "/w/a", writable: true, id: id(302) },
          { path: "/w/ro/x", writable: false, id: id(303) },
        ],
        masks: { files: ["/w/a/.env", "/w/ro/x/.env"], dirs: ["/w/.ssh"] },
        cwd: "/w",
      },
      layout,
    );

    it("binds roots and pins shallow to deep, each pin with its innermost root's access, each checked as a bind onto itself", () => {
      expect(at(args, "--bind-fd", "6", "/w")).toBeLessThan(at(args, "--bind", "/w/a", "/w/a"));
      expect(at(args, "--ro-bind-fd", "7", "/w/ro")).toBeLessThan(at(args, "--ro-bind", "/w/ro/x", "/w/ro/x"));
      expect(at(args, "--bind", "/w/ro/x", "/w/ro/x")).toBe(-1); // never a writable view of a read-only root
      expect(mounts.filter((m) => m.self).map((m) => m.dest).sort()).toEqual(["/w/a", "/w/ro", "/w/ro/x"]);
    });

    it("masks after every bind: directories and files with the held empty directory and file, each checked in place", () => {
      const lastBind = Math.max(at(args, "--ro-bind", "/w/ro/x", "/w/ro/x"), at(args, "--bind", "/w/a", "/w/a"));
      expect(at(args, "--ro-bind", "/m/empty-dir", "/w/.ssh")).toBeGreaterThan(lastBind);
      expect(at(args, "--ro-bind", "/m/empty", "/w/a/.env")).toBeGreaterThan(lastBind);
      expect(at(args, "--ro-bind", "/m/empty", "/w/ro/x/.env")).toBeGreaterThan(lastBind);
      expect(mounts).toContainEqual({ dest: "/w/a/.env", expect: id(1), self: false });
      expect(mounts).toContainEqual({ dest: "/w/.ssh", expect: id(2), self: false });
    });
  });
});

describe("mountPlan: what the gate checks", () => {
  it("checks only what a command will find: a root hidden whole, and what lies under a masked directory, are not checked", () => {
    const { mounts } = mountPlan(
      {
        ...base,
        roots: [
          { path: "/w", writable: true, slot: 6, id: id(300) },
          { path: "/w/sub/ro", writable: false, slot: 7, id: id(301) },
          { path: "/v", writable: true, slot: 8, id: id(302) },
        ],
        pins: [{ path: "/w/sub", writable: true, id: id(303) }],
        masks: { files: [], dirs: ["/w/sub", "/v"] },
        cwd: "/w",
      },
      layout,
    );
    const dests = mounts.map((m) => m.dest);
    expect(dests).toContain("/w");
    expect(dests).not.toContain("/w/sub/ro");
    expect(mounts.filter((m) => m.dest === "/w/sub")).toEqual([{ dest: "/w/sub", expect: id(2), self: false }]);
    expect(mounts.filter((m) => m.dest === "/v")).toEqual([{ dest: "/v", expect: id(2), self: false }]);
  });
});

describe("mountPlan: binds for a runtime that binds by path (docker)", () => {
  const plan = mountPlan(
    {
      ...base,
      roots: [
        { path: "/w", writable: true, slot: 6, id: id(300) },
        { path: "/w/sub/ro", writable: false, slot: 7, id: id(301) },
        { path: "/v", writable: true, slot: 8, id: id(302) },
      ],
      pins: [
        { path: "/w/sub", writable: true, id: id(303) },
        { path: "/w/a", writable: true, id: id(304) },
      ],
      masks: { files: ["/w/a/.env"], dirs: ["/w/sub", "/v"] },
      cwd: "/w",
    },
    { system: [], maskedFiles: [], maskedDirs: [] },
  );

  it("lists what stays visible, in plan order: roots by their own path, pins onto themselves, masks from the held sources", () => {
    expect(plan.binds).toEqual([
      { source: "/w", dest: "/w", writable: true },
      { source: "/w/a", dest: "/w/a", writable: true },
      { source: "/m/empty-dir", dest: "/w/sub", writable: false },
      { source: "/m/empty-dir", dest: "/v", writable: false },
      { source: "/m/empty", dest: "/w/a/.env", writable: false },
    ]);
  });

  it("has one bind per destination (a root hidden whole is not bound under its mask) and the same destinations the check walks", () => {
    const dests = plan.binds.map((b) => b.dest);
    expect(new Set(dests).size).toBe(dests.length);
    expect(dests).toEqual(plan.mounts.map((m) => m.dest));
  });
});
