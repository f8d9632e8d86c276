import { describe, expect, it } from "vitest";
import { bwrapArgs } from "../../../src/exec/native/bwrap-args.js";
import type { HostLayout } from "../../../src/exec/native/host-layout.js";

const layout: HostLayout = {
  system: [{ path: "/usr" }, { path: "/bin", symlink: "usr/bin" }, { path: "/etc" }],
  maskedFiles: ["/etc/shadow"],
  maskedDirs: ["/etc/ssl/private"],
};

function pairs(args: string[], flag: string): string[][] {
  const out: string[][] = [];
  args.forEach((a, i) => {
    if (a === flag) out.push(args.slice(i + 1, i + 3));
  });
  return out;
}

describe("bwrapArgs", () => {
  const base = { roots: [{ path: "/work/p", writable: true }], cwd: "/work/p", network: false };

  it("isolates by default: pid, net, caps, session, parent death", () => {
    const args = bwrapArgs(base, layout);
    for (const f of ["--unshare-pid", "--unshare-net", "--die-with-parent", "--new-session"]) expect(args).toContain(f);
    expect(args.join(" ")).toContain("--cap-drop ALL");
  });

  it("keeps the network only when asked", () => {
    expect(bwrapArgs({ ...base, network: true }, layout)).not.toContain("--unshare-net");
  });

  it("binds system dirs read-only, recreates symlinks, masks secrets after /etc", () => {
    const args = bwrapArgs(base, layout);
    expect(pairs(args, "--ro-bind")).toContainEqual(["/usr", "/usr"]);
    expect(pairs(args, "--symlink")).toContainEqual(["usr/bin", "/bin"]);
    expect(pairs(args, "--ro-bind")).toContainEqual(["/dev/null", "/etc/shadow"]);
    expect(args.indexOf("/etc/shadow")).toBeGreaterThan(args.indexOf("/etc"));
    expect(pairs(args, "--tmpfs").map((p) => p[0])).toEqual(expect.arrayContaining(["/etc/ssl/private", "/tmp"]));
    expect(args[args.indexOf("/home/warden") - 1]).toBe("--dir");
  });

  it("never binds / or the home directories", () => {
    const args = bwrapArgs(base, layout);
    const sources = [...pairs(args, "--bind"), ...pairs(args, "--ro-bind")].map((p) => p[0]);
    expect(sources).not.toContain("/");
    expect(sources.some((s) => s === "/root" || s === "/home")).toBe(false);
  });

  it("binds roots by access, shallow before deep, after the private /tmp", () => {
    const args = bwrapArgs(
      { roots: [{ path: "/tmp/a/ro", writable: false }, { path: "/tmp/a", writable: true }], cwd: "/tmp/a", network: false },
      layout,
    );
    const rw = args.indexOf("/tmp/a");
    const ro = args.indexOf("/tmp/a/ro");
    expect(args[rw - 1]).toBe("--bind");
    expect(args[ro - 1]).toBe("--ro-bind");
    expect(rw).toBeLessThan(ro);
    expect(args.indexOf("/tmp")).toBeLessThan(rw);
    expect(args.slice(-2)).toEqual(["--chdir", "/tmp/a"]);
  });

  it("masks secrets after the roots, so a root at / or /etc cannot uncover them", () => {
    const args = bwrapArgs({ roots: [{ path: "/", writable: true }], cwd: "/", network: false }, layout);
    expect(args.lastIndexOf("/etc/shadow")).toBeGreaterThan(args.indexOf("--bind"));
    expect(args.lastIndexOf("/etc/ssl/private")).toBeGreaterThan(args.indexOf("--bind"));
  });
});
