import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { processStartTime } from "../../src/workspace/proc.js";
import { requireBinary } from "../support/engines/require-binary.js";
import { holderPid, seen } from "../support/modes.js";
import { canary, makeTempDir, removeDir, treeDigest } from "../support/tree.js";
import { CLI, startWarden, type WardenClient } from "../support/warden-client.js";
import { git, gitView, snapshot } from "../workspace/helpers.js";

/**
 * `warden serve --overlay --overlay-driver copy` through the real server, real bubblewrap and a real
 * git repository: file tools and commands write the copy at the root's own path, the real tree never
 * changes, a `kill -9` leaves the workspace orphaned, `workspace list` and `workspace diff --patch`
 * work on it, and the patch is one `git apply` takes on a clone of the original.
 */
let base: string;
let root: string;
let state: string;
let secret: string;

beforeAll(() => {
  requireBinary("bwrap", "bubblewrap");
  requireBinary("nsenter", "util-linux");
  requireBinary("git", "git");
  base = makeTempDir("warden-copy-mode-");
  root = join(base, "proj");
  state = join(base, "state");
  secret = canary("REAL");
  const w = (rel: string, data: string | Buffer) => {
    mkdirSync(join(root, rel, ".."), { recursive: true });
    writeFileSync(join(root, rel), data);
  };
  w("a.txt", "a\n");
  w("canary.txt", secret);
  w("img/logo.bin", Buffer.from([0x89, 0, 1, 2, 0xff, 10, 0, 0x80]));
  w("docs/guide/intro.md", "intro\n");
  w("old-name.txt", "renamed\n");
  w("run.sh", "#!/bin/sh\necho run\n");
  chmodSync(join(root, "run.sh"), 0o644);
  git(root, "init", "-q");
  git(root, "add", "-A");
  git(root, "commit", "-qm", "start");
  mkdirSync(join(base, "outside"));
  writeFileSync(join(base, "outside", "secret.txt"), secret);
});
afterAll(() => removeDir(base));

describe("serve --overlay --overlay-driver copy", () => {
  let w: WardenClient | undefined;
  afterAll(async () => {
    await w?.close().catch(() => undefined);
  });

  // The bound only stops a hang (a server, a kill and four CLI runs), not a timing assertion.
  it("tools and commands write the copy; kill -9, then list, diff --patch and git apply on a clone", { timeout: 180_000 }, async () => {
    const before = treeDigest(root);
    w = await startWarden(["--root", root, "--overlay", "--overlay-driver", "copy", "--workspace", "copy-1", "--state-dir", state]);
    expect(w.stderr()).toMatch(/copy-on-write workspace copy-1 \(driver: copy; the copy driver loses: creation, each checkpoint and each fork cost a full copy of the tree/);
    const info = (await w.call("get_system_info", {})).structuredContent as { workspace: { mode: string; driver: string; driver_loses: string; roots: string[] } };
    expect(info.workspace).toMatchObject({ mode: "overlay", driver: "copy", roots: [root] });
    expect(info.workspace.driver_loses).toMatch(/full copy of the tree/);

    expect((await w.call("write_file", { path: "a.txt", content: "edited by a tool\n" })).isError).toBeFalsy();
    const script = "cat a.txt && printf 'appended' >> img/logo.bin && rm canary.txt && mv old-name.txt new-name.txt && python3 -c 'import os; os.chmod(\"run.sh\", 0o755)' && rm -rf docs/guide && echo file > docs/guide && printf '\\000bin' > img/new.bin";
    const cmd = await w.call("execute_command", { command: script });
    expect(cmd.isError, w.text(cmd)).toBeFalsy();
    expect(w.text(cmd)).toContain("edited by a tool");
    expect(w.text(await w.call("read_file", { path: "docs/guide" }))).toContain("file");
    expect(readFileSync(seen("copy", w, join(root, "a.txt")), "utf8")).toBe("edited by a tool\n");
    const view = gitView(snapshot(seen("copy", w, root), { skip: (r) => r === ".git" }));
    expect(treeDigest(root)).toBe(before);
    expect(readFileSync(join(root, "canary.txt"), "utf8")).toBe(secret);

    const holder = holderPid(w);
    process.kill(w.pid()!, "SIGKILL");
    for (let i = 0; i < 600 && processStartTime(holder) !== null; i++) await new Promise((r) => setTimeout(r, 50));
    expect(processStartTime(holder)).toBeNull();
    await w.close().catch(() => undefined);
    w = undefined;

    expect(spawnSync(process.execPath, [CLI, "workspace", "list", "--state-dir", state], { encoding: "utf8" }).stdout).toMatch(/copy-1\s+orphaned/);
    const names = spawnSync(process.execPath, [CLI, "workspace", "diff", "copy-1", "--state-dir", state], { encoding: "utf8" }).stdout;
    for (const line of ["M\ta.txt", "D\tcanary.txt", "A\tnew-name.txt", "D\told-name.txt", "M\trun.sh", "D\tdocs/guide/intro.md", "A\tdocs/guide", "A\timg/new.bin", "M\timg/logo.bin"]) expect(names).toContain(line);
    const patch = spawnSync(process.execPath, [CLI, "workspace", "diff", "copy-1", "--patch", "--state-dir", state], { encoding: "utf8" });
    expect(patch.status, patch.stderr).toBe(0);
    const clone = join(base, "clone");
    git(base, "clone", "-q", root, clone);
    writeFileSync(join(base, "copy-1.patch"), patch.stdout);
    git(clone, "apply", join(base, "copy-1.patch"));
    expect(gitView(snapshot(clone, { skip: (r) => r === ".git" }))).toEqual(view);
    expect(treeDigest(root)).toBe(before);
    expect(existsSync(join(root, "new-name.txt"))).toBe(false);
  });

  it("the holder killed under a live server: tools and commands refuse, nothing falls back to the real tree", async () => {
    const before = treeDigest(root);
    w = await startWarden(["--root", root, "--overlay", "--overlay-driver", "copy", "--workspace", "copy-orphan", "--state-dir", state]);
    const holder = holderPid(w);
    process.kill(holder, "SIGKILL");
    for (let i = 0; i < 600 && processStartTime(holder) !== null; i++) await new Promise((r) => setTimeout(r, 50));
    const write = await w.call("write_file", { path: "after.txt", content: "x" });
    expect(write.isError, w.text(write)).toBe(true);
    const cmd = await w.call("execute_command", { command: "echo x > after-cmd.txt" });
    expect(cmd.isError, w.text(cmd)).toBe(true);
    expect(treeDigest(root)).toBe(before);
    await w.close();
    w = undefined;
  });
});
