import { describe, expect, it } from "vitest";
import { CONTAINER_LAYOUT, dockerMounts, sameView } from "../../../src/exec/docker/container-mounts.js";
import { mountPlan, type PlannedMount } from "../../../src/exec/native/mount-plan.js";

const id = (n: number, ctime?: string) => ({ dev: "1", ino: String(n), ...(ctime ? { ctime } : {}) });
const maskSources = { file: { path: "/m/empty", id: id(1) }, dir: { path: "/m/empty-dir", id: id(2) } };

/** A container plan as the docker backend makes it: the shared mount plan with the image's own system directories. */
function plan(files: string[], ctime = "5") {
  return mountPlan(
    {
      roots: [{ path: "/w", writable: true, slot: 0, id: id(300, ctime) }],
      pins: [{ path: "/w/a", writable: true, id: id(301, ctime) }],
      masks: { files, dirs: [] },
      maskSources,
      cwd: "/w",
      network: false,
    },
    CONTAINER_LAYOUT,
  );
}

describe("docker container mounts (pure)", () => {
  it("binds the plan's binds as structured mounts: a ':' in a secret's name cannot change what is bound", () => {
    const mounts = dockerMounts(plan(["/w/.env.a:/:rw", "/w/a/.env"]));
    expect(mounts).toEqual([
      { Type: "bind", Source: "/w", Target: "/w", ReadOnly: false, BindOptions: { Propagation: "rprivate" } },
      { Type: "bind", Source: "/w/a", Target: "/w/a", ReadOnly: false, BindOptions: { Propagation: "rprivate" } },
      { Type: "bind", Source: "/m/empty", Target: "/w/.env.a:/:rw", ReadOnly: true, BindOptions: { Propagation: "rprivate" } },
      { Type: "bind", Source: "/m/empty", Target: "/w/a/.env", ReadOnly: true, BindOptions: { Propagation: "rprivate" } },
    ]);
  });

  it("adds no system directory: the image brings its own", () => {
    expect(dockerMounts(plan([])).map((m) => m.Target)).toEqual(["/w", "/w/a"]);
  });

  describe("sameView: may a command run in a container made from another plan", () => {
    const had = plan(["/w/.env", "/w/a/.env"]).mounts;
    it("yes for the same mounts in any order, whatever the mask holders' ctime (ordinary writes change it)", () => {
      expect(sameView(had, [...plan(["/w/a/.env", "/w/.env"], "99").mounts].reverse())).toBe(true);
    });
    const cases: [string, PlannedMount[]][] = [
      ["a new secret", plan(["/w/.env", "/w/a/.env", "/w/.env.prod"]).mounts],
      ["a secret gone (the container would hide more than asked)", plan(["/w/.env"]).mounts],
      ["another mask at the same count", plan(["/w/.env", "/w/a/.env.x"]).mounts],
      ["a pin that is another directory now", had.map((m) => (m.dest === "/w/a" ? { ...m, expect: id(999) } : m))],
      ["other mask sources (recreated)", had.map((m) => (m.expect.ino === "1" ? { ...m, expect: id(7) } : m))],
      ["a mount no longer a bind onto itself", had.map((m) => (m.dest === "/w/a" ? { ...m, self: !m.self } : m))],
    ];
    it.each(cases)("no for %s", (_what, wants) => {
      expect(sameView(had, wants)).toBe(false);
    });
  });
});
