import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { diffWorkspace, listWorkspaces } from "../../src/workspace/index.js";
import { processStartTime } from "../../src/workspace/proc.js";
import { requireBinary } from "../support/engines/require-binary.js";
import { holderPid, seen } from "../support/modes.js";
import { canary, makeTempDir, removeDir, treeDigest, writeTree } from "../support/tree.js";
import { CLI, startWarden, type WardenClient } from "../support/warden-client.js";

/**
 * `warden serve --overlay` through the real server (stdio), real overlayfs and real bubblewrap:
 * file tools and commands work on one copy-on-write view at the roots' own paths, the real tree
 * never changes (a canary beside it, a digest of all of it), a `kill -9` of the server leaves the
 * workspace orphaned with its edits, and what overlay mode cannot serve is refused by name.
 */
let base: string;
let root: string;
let state: string;
let secret: string;

beforeAll(() => {
  requireBinary("bwrap", "bubblewrap");
  requireBinary("nsenter", "util-linux");
  base = makeTempDir("warden-overlay-");
  root = join(base, "proj");
  state = join(base, "state");
  secret = canary("REAL");
  writeTree(base, {
    "proj/a.txt": "a\n",
    "proj/canary.txt": secret,
    "proj/src/main.c": "int main(void) { return 0; }\n",
    "proj/src/old.c": "old\n",
    "proj/link_self_abs": { link: join(base, "proj", "a.txt") },
    "outside/secret.txt": secret,
  });
});
afterAll(() => removeDir(base));

const text = (w: WardenClient, r: Awaited<ReturnType<WardenClient["call"]>>) => w.text(r);

describe("serve --overlay", () => {
  let w: WardenClient;
  afterAll(async () => {
    await w?.close().catch(() => undefined);
  });

  it("file tools and commands share one view at the real paths; the real tree is never modified", async () => {
    const before = treeDigest(root);
    w = await startWarden(["--root", root, "--overlay", "--workspace", "run-1", "--state-dir", state]);
    expect(w.stderr()).toMatch(/copy-on-write workspace run-1 \(driver: kernel/);

    // A file tool writes, a command reads it; a command writes, a file tool reads it.
    expect((await w.call("write_file", { path: "a.txt", content: "edited by a tool\n" })).isError).toBeFalsy();
    const cat = await w.call("execute_command", { command: "cat a.txt && pwd && echo from-a-command > made.txt && rm canary.txt src/old.c && mkdir -p build && echo o > build/out.o" });
    expect(cat.isError, text(w, cat)).toBeFalsy();
    expect(text(w, cat)).toContain("edited by a tool");
    expect(text(w, cat)).toContain(root);
    expect(text(w, await w.call("read_file", { path: "made.txt" }))).toContain("from-a-command");
    expect((await w.call("read_file", { path: "canary.txt" })).isError).toBe(true);
    // An absolute symlink naming a file of the root leads to the view's file, never the real one.
    expect(text(w, await w.call("read_file", { path: "link_self_abs" }))).toContain("edited by a tool");
    expect(text(w, await w.call("execute_command", { command: "cat link_self_abs" }))).toContain("edited by a tool");
    // Commands run where the tools created directories (working_directory resolved in the view).
    const inBuild = await w.call("execute_command", { command: "pwd && ls", working_directory: "build" });
    expect(text(w, inBuild)).toContain(join(root, "build"));
    expect(text(w, inBuild)).toContain("out.o");
    const edit = await w.call("edit_file", { path: "src/main.c", edits: [{ old_text: "return 0", new_text: "return 1" }] });
    expect(edit.isError, text(w, edit)).toBeFalsy();

    // The view, from outside: what the tools and commands see.
    expect(readFileSync(seen("overlay", w, join(root, "a.txt")), "utf8")).toBe("edited by a tool\n");
    // The real tree: untouched, the canary still there, nothing new.
    expect(treeDigest(root)).toBe(before);
    expect(readFileSync(join(root, "canary.txt"), "utf8")).toBe(secret);
    expect(existsSync(join(root, "made.txt"))).toBe(false);

    const info = (await w.call("get_system_info", {})).structuredContent as { workspace: { mode: string; name: string; driver: string; roots: string[] }; confinement: string };
    expect(info.workspace).toMatchObject({ mode: "overlay", name: "run-1", driver: "kernel", roots: [root] });

    const diff = diffWorkspace({ stateDir: state, name: "run-1" });
    const changed = Object.fromEntries(diff.roots[0]!.changes.map((c) => [c.path, c.status]));
    expect(changed).toMatchObject({ "a.txt": "modified", "made.txt": "added", "canary.txt": "deleted", "src/old.c": "deleted", "src/main.c": "modified", "build/out.o": "added" });
    await w.close();
  });

  it("filesystem.deny hides a secret made in the view from commands and file tools alike", async () => {
    w = await startWarden(["--root", root, "--overlay", "--workspace", "deny", "--state-dir", state]);
    const made = await w.call("execute_command", { command: `python3 -c 'import os; os.makedirs("cfg", exist_ok=True); open("cfg/.env", "w").write("TOKEN=${secret}")'` });
    expect(made.isError, text(w, made)).toBeFalsy();
    const cat = await w.call("execute_command", { command: "cat cfg/.env; echo end" });
    expect(text(w, cat)).toContain("end");
    expect(text(w, cat)).not.toContain(secret);
    const read = await w.call("read_file", { path: "cfg/.env" });
    expect(read.isError).toBe(true);
    expect(text(w, read)).toContain("filesystem.deny");
    expect(existsSync(join(root, "cfg"))).toBe(false);
    await w.close();
  });

  it("kill -9 of the server mid-session: the workspace is orphaned with its edits, and re-opens by name", async () => {
    const before = treeDigest(root);
    w = await startWarden(["--root", root, "--overlay", "--workspace", "crashy", "--state-dir", state]);
    const holder = holderPid(w);
    expect((await w.call("write_file", { path: "crash.txt", content: "written before the crash\n" })).isError).toBeFalsy();
    expect((await w.call("execute_command", { command: "echo cmd > crash-cmd.txt" })).isError).toBeFalsy();
    process.kill(w.pid()!, "SIGKILL");
    // The holder follows its server (its pipe ends); no timing assertion, the bound only stops a hang.
    for (let i = 0; i < 600 && processStartTime(holder) !== null; i++) await new Promise((r) => setTimeout(r, 50));
    expect(processStartTime(holder)).toBeNull();
    await w.close().catch(() => undefined);

    const entry = listWorkspaces({ stateDir: state }).find((s) => s.name === "crashy");
    expect(entry?.state).toBe("orphaned");
    const cli = spawnSync(process.execPath, [CLI, "workspace", "list", "--state-dir", state], { encoding: "utf8" });
    expect(cli.stdout).toMatch(/crashy\s+orphaned/);
    const diff = spawnSync(process.execPath, [CLI, "workspace", "diff", "crashy", "--state-dir", state], { encoding: "utf8" });
    expect(diff.stdout).toContain("A\tcrash.txt");
    expect(diff.stdout).toContain("A\tcrash-cmd.txt");
    expect(treeDigest(root)).toBe(before);

    // The same name again: the edits are there.
    w = await startWarden(["--root", root, "--overlay", "--workspace", "crashy", "--state-dir", state]);
    expect(text(w, await w.call("read_file", { path: "crash.txt" }))).toContain("written before the crash");
    expect(text(w, await w.call("execute_command", { command: "cat crash-cmd.txt" }))).toContain("cmd");
    await w.close();
  });

  it("the holder killed under a live server: tools and commands refuse, nothing falls back to the real tree", async () => {
    const before = treeDigest(root);
    w = await startWarden(["--root", root, "--overlay", "--workspace", "orphan", "--state-dir", state]);
    expect((await w.call("write_file", { path: "a.txt", content: "in the view\n" })).isError).toBeFalsy();
    const holder = holderPid(w);
    process.kill(holder, "SIGKILL");
    for (let i = 0; i < 600 && processStartTime(holder) !== null; i++) await new Promise((r) => setTimeout(r, 50));
    const read = await w.call("read_file", { path: "a.txt" });
    expect(read.isError, text(w, read)).toBe(true);
    expect(text(w, read)).toContain("roots.moved");
    const write = await w.call("write_file", { path: "after.txt", content: "x" });
    expect(write.isError, text(w, write)).toBe(true);
    const cmd = await w.call("execute_command", { command: "echo x > after-cmd.txt" });
    expect(cmd.isError, text(w, cmd)).toBe(true);
    expect(text(w, cmd)).toMatch(/roots\.moved|workspace\.gone/);
    expect(treeDigest(root)).toBe(before);
    await w.close();
  });

  it("a live workspace is not opened twice", async () => {
    w = await startWarden(["--root", root, "--overlay", "--workspace", "busy", "--state-dir", state]);
    const second = spawnSync(process.execPath, [CLI, "serve", "--root", root, "--overlay", "--workspace", "busy", "--state-dir", state], { encoding: "utf8", input: "" });
    expect(second.status).toBe(1);
    expect(second.stderr).toMatch(/workspace busy is in use: it is live \(mounted by holder pid \d+\)/);
    await w.close();
  });
});

describe("serve --overlay refuses what it cannot serve, naming the fix", () => {
  const serve = (args: string[]) => spawnSync(process.execPath, [CLI, "serve", "--root", root, "--overlay", "--state-dir", state, ...args], { encoding: "utf8", input: "" });

  it.each([
    [["--backend", "docker"], /--overlay needs the native backend .* Start with --backend native/],
    [["--overlay-driver", "nfs"], /overlay driver "nfs" does not exist: choose auto or one of kernel, fuse/],
    [["--workspace", "../escape"], /invalid workspace name "\.\.\/escape"/],
    [["--workspace-per-session"], /--workspace-per-session needs --http/],
  ] as const)("%j", (args, message) => {
    const r = serve([...args]);
    expect(r.stderr).toMatch(message);
    expect(r.status).toBe(2);
  });

  it("a state dir that is a file", () => {
    const file = join(base, "state-file");
    writeFileSync(file, "keep me\n");
    const r = spawnSync(process.execPath, [CLI, "serve", "--root", root, "--overlay", "--state-dir", file], { encoding: "utf8", input: "" });
    expect(r.stderr).toMatch(/state dir .*state-file is not a directory/);
    expect(r.status).toBe(2);
    expect(readFileSync(file, "utf8")).toBe("keep me\n");
  });

  it("a root on a filesystem overlayfs cannot use as a lower layer", () => {
    const r = spawnSync(process.execPath, [CLI, "serve", "--root", "/dev/pts", "--overlay", "--state-dir", state], { encoding: "utf8", input: "" });
    expect(r.stderr).toMatch(/root \/dev\/pts is on devpts, which overlayfs cannot use as a lower layer/);
    expect(r.status).toBe(2);
  });

  it("a state dir inside the root", () => {
    mkdirSync(join(base, "proj2"), { recursive: true });
    const r = spawnSync(process.execPath, [CLI, "serve", "--root", join(base, "proj2"), "--overlay", "--state-dir", join(base, "proj2", ".state")], { encoding: "utf8", input: "" });
    expect(r.stderr).toMatch(/the state dir .*proj2\/\.state lies inside the read-write root .*proj2: .*Give --state-dir a directory outside every root/);
    expect(r.status).toBe(2);
    expect(existsSync(join(base, "proj2", ".state"))).toBe(false);
  });

  it("a state dir a command or a file tool could read: inside a read-only root, or under /opt", () => {
    mkdirSync(join(base, "ref"), { recursive: true });
    const inRef = spawnSync(process.execPath, [CLI, "serve", "--root", root, "--read-only", join(base, "ref"), "--overlay", "--state-dir", join(base, "ref", "state")], { encoding: "utf8", input: "" });
    expect(inRef.stderr).toMatch(/the state dir .*ref\/state lies inside the read-only root .*ref: commands and file tools could read or change it/);
    expect(inRef.status).toBe(2);
    expect(existsSync(join(base, "ref", "state"))).toBe(false);
    const opt = `/opt/warden-test-state-${process.pid}`;
    const inOpt = serve(["--state-dir", opt]);
    expect(inOpt.stderr).toMatch(/the state dir \/opt\/warden-test-state-\d+ lies inside \/opt, which every command sees read-only/);
    expect(inOpt.status).toBe(2);
    expect(existsSync(opt)).toBe(false);
  });
});
