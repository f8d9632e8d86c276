import { describe, expect, it } from "vitest";
import { dockerMounts } from "../../../src/exec/docker/container-mounts.js";
import { containerSpec, scopeKey, SESSION_LABEL } from "../../../src/exec/docker/container-spec.js";

const scope = {
  image: "img",
  user: "1000:1000",
  cpus: 1.5,
  mounts: dockerMounts({
    binds: [
      { source: "/srv/a", dest: "/srv/a", writable: true },
      { source: "/srv/a/ro", dest: "/srv/a/ro", writable: false },
      { source: "/m/empty", dest: "/srv/a/.env", writable: false },
    ],
  }),
  limits: { memoryMb: 128, processes: 50, network: false },
  hostBinaries: [] as string[],
  session: "s1",
  ownerPid: 123,
  ownerHost: "h",
};

describe("container spec (pure)", () => {
  it("confines: read-only rootfs, tmpfs /tmp, no network, caps dropped, limits, non-root", () => {
    const spec = containerSpec(scope) as { HostConfig: Record<string, unknown>; User: string; Labels: Record<string, string>; NetworkDisabled: boolean };
    expect(spec.User).toBe("1000:1000");
    expect(spec.Labels[SESSION_LABEL]).toBe("s1");
    expect(spec.NetworkDisabled).toBe(true);
    expect(spec.HostConfig).toMatchObject({
      NetworkMode: "none",
      ReadonlyRootfs: true,
      CapDrop: ["ALL"],
      SecurityOpt: ["no-new-privileges"],
      Memory: 128 * 1024 * 1024,
      MemorySwap: 128 * 1024 * 1024,
      NanoCpus: 1.5e9,
      PidsLimit: 50,
    });
    expect(Object.keys(spec.HostConfig.Tmpfs as object)).toEqual(["/tmp", "/home/warden"]);
  });

  it("binds the mount plan's binds as structured mounts, in plan order, with their access", () => {
    const spec = containerSpec(scope) as { HostConfig: { Binds: string[]; Mounts: unknown[] } };
    expect(spec.HostConfig.Binds).toEqual([]);
    expect(spec.HostConfig.Mounts).toEqual([
      { Type: "bind", Source: "/srv/a", Target: "/srv/a", ReadOnly: false, BindOptions: { Propagation: "rprivate" } },
      { Type: "bind", Source: "/srv/a/ro", Target: "/srv/a/ro", ReadOnly: true, BindOptions: { Propagation: "rprivate" } },
      { Type: "bind", Source: "/m/empty", Target: "/srv/a/.env", ReadOnly: true, BindOptions: { Propagation: "rprivate" } },
    ]);
  });

  it("volume_mount binds host binaries read-only", () => {
    const spec = containerSpec({ ...scope, hostBinaries: ["/usr", "/lib"] }) as { HostConfig: { Binds: string[] } };
    expect(spec.HostConfig.Binds).toEqual(["/usr:/usr:ro", "/lib:/lib:ro"]);
  });

  it("network only when the policy allows it", () => {
    const spec = containerSpec({ ...scope, limits: { ...scope.limits, network: true } }) as { HostConfig: { NetworkMode: string } };
    expect(spec.HostConfig.NetworkMode).toBe("bridge");
  });

  it("scope keys differ by roots, access and limits, not by order", () => {
    const roots = [
      { path: "/srv/a/ro", writable: false },
      { path: "/srv/a", writable: true },
    ];
    const k = scopeKey(roots, scope.limits);
    expect(scopeKey([...roots].reverse(), scope.limits)).toBe(k);
    expect(scopeKey([{ path: "/srv/a/ro", writable: true }, roots[1]!], scope.limits)).not.toBe(k);
    expect(scopeKey(roots, { ...scope.limits, network: true })).not.toBe(k);
  });
});
