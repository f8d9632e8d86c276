import { describe, expect, it } from "vitest";
import { sandboxPathViewer } from "../../../src/exec/native/sandbox-view.js";

const view = sandboxPathViewer({
  roots: [
    { path: "/srv/app", writable: true },
    { path: "/srv/app/vendor", writable: false },
    { path: "/srv/etc-copy", writable: true },
  ],
  denyGlobs: ["**/.env", "**/.ssh/**"],
  cwd: "/srv/app",
  layout: {
    system: [{ path: "/usr" }, { path: "/bin", symlink: "usr/bin" }, { path: "/etc" }],
    maskedFiles: ["/etc/shadow", "/etc/ssh/ssh_host_ed25519_key"],
    maskedDirs: ["/etc/ssl/private"],
  },
});

describe("what a natively confined command sees at a path (warden check)", () => {
  it.each([
    ["/etc/shadow", "hidden", /host secret/],
    ["/etc/ssh/ssh_host_ed25519_key", "hidden", /host secret/],
    ["/etc/ssl/private/server.key", "hidden", /\/etc\/ssl\/private is an empty directory/],
    [".env", "hidden", /filesystem\.deny \*\*\/\.env/],
    ["/srv/app/sub/.ssh/id_ed25519", "hidden", /filesystem\.deny \*\*\/\.ssh\/\*\*/],
    ["vendor/lib.js", "read-only", /read-only root \/srv\/app\/vendor/],
    ["/etc/passwd", "read-only", /system directory/],
    ["/usr/bin/env", "read-only", /system directory/],
    ["~/.ssh/id_rsa", "absent", /~ is HOME, which is an empty directory/],
    ["~", "absent", /HOME/],
    ["~bob/notes", "absent", /other users' home/],
    ["/root/.bashrc", "absent", /outside the roots/],
    ["/home/someone/x", "absent", /outside the roots/],
    ["/tmp/x", "private", /own empty \/tmp/],
    ["/proc/1/environ", "private", /own \/proc/],
    ["/dev/sda", "absent", /minimal \/dev/],
  ] as const)("%s: %s", (path, effect, why) => {
    const seen = view(path);
    expect(seen?.effect).toBe(effect);
    expect(seen?.why).toMatch(why);
  });

  it.each(["README.md", "/srv/app/src/a.ts", "../etc-copy/x", "/dev/null", "/dev/stdout", "status"])("%s is seen as on the host", (path) => {
    expect(view(path)).toBeNull();
  });
});
