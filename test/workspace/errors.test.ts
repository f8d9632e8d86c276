import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { diffWorkspace, listWorkspaces, openWorkspace, WorkspaceError } from "../../src/workspace/index.js";
import { CLI } from "../support/warden-client.js";
import { makeTempDir, removeDir } from "../support/tree.js";
import { plain, runInside, snapshot } from "./helpers.js";

let dir: string;
let root: string;
let state: string;

beforeAll(() => {
  dir = makeTempDir("warden-ws-errors-");
  root = join(dir, "proj");
  state = join(dir, "state");
  mkdirSync(root);
  writeFileSync(join(root, "a.txt"), "a\n");
  writeFileSync(join(dir, "a-file"), "not a directory\n");
  mkdirSync(join(dir, "other"));
  symlinkSync(root, join(dir, "link-to-proj"));
});
afterAll(() => removeDir(dir));

const warden = (...args: string[]) => spawnSync(process.execPath, [CLI, "workspace", ...args], { encoding: "utf8", cwd: dir });

async function refusal(p: Promise<unknown>): Promise<WorkspaceError> {
  const err = await p.then(() => null, (e: unknown) => e);
  expect(err).toBeInstanceOf(WorkspaceError);
  return err as WorkspaceError;
}

describe("bad input gets a clear error and loses nothing", () => {
  it.each([
    ["a name with a slash", { name: "a/b" }, "usage", /invalid workspace name "a\/b": a workspace name is 1-64 characters/],
    ["a name starting with a dot", { name: ".hidden" }, "usage", /invalid workspace name/],
    ["an empty name", { name: "" }, "usage", /invalid workspace name/],
    ["a state dir that is a file", { stateDir: "a-file" }, "usage", /state dir .*a-file is not a directory .* give --state-dir a directory, or move that file away/],
    ["a state dir below a file", { stateDir: "a-file/state" }, "usage", /is not a directory/],
    ["a root that does not exist", { roots: ["missing"] }, "usage", /root .*missing: does not exist/],
    ["a root that is a file", { roots: ["a-file"] }, "usage", /root .*a-file is not a directory/],
    ["a root on procfs", { roots: ["/proc/sys"] }, "usage", /root \/proc\/sys is on proc, which overlayfs cannot use as a lower layer; choose a root on a disk filesystem/],
    ["nested roots", { roots: ["proj", "proj/.."] }, "usage", /overlap: a workspace covers each root with its own overlay; give only the outer one/],
    ["a state dir inside the root", { stateDir: "proj/.state" }, "usage", /lies inside root .*proj: overlayfs cannot keep a layer inside the tree it covers/],
  ])("%s", async (_what, o: { name?: string; stateDir?: string; roots?: string[] }, kind, message) => {
    const err = await refusal(
      openWorkspace({
        stateDir: join(dir, o.stateDir ?? "state"),
        name: o.name ?? "w",
        roots: (o.roots ?? ["proj"]).map((r) => (r.startsWith("/") ? r : join(dir, r))),
      }),
    );
    expect(err.kind).toBe(kind);
    expect(err.message).toMatch(message);
    expect(readFileSync(join(dir, "a-file"), "utf8")).toBe("not a directory\n");
    expect(existsSync(join(dir, "proj", ".state"))).toBe(false);
  });

  it("an existing workspace opened with other roots, or over a root that was replaced, is refused and kept", async () => {
    const h = await openWorkspace({ stateDir: state, name: "kept", roots: [root] });
    runInside(h, `echo agent > '${root}/agent.txt'`);
    await h.close();
    const before = diffWorkspace({ stateDir: state, name: "kept" });
    const other = await refusal(openWorkspace({ stateDir: state, name: "kept", roots: [join(dir, "other")] }));
    expect(other.message).toMatch(/workspace kept covers .*proj; it was opened with .*other\. Give the same roots/);
    // a symlink to the same directory is the same root
    await (await openWorkspace({ stateDir: state, name: "kept", roots: [join(dir, "link-to-proj")] })).close();
    // the root replaced by another directory at the same path
    spawnSync("mv", [root, join(dir, "proj-moved")]);
    mkdirSync(root);
    try {
      const moved = await refusal(openWorkspace({ stateDir: state, name: "kept", roots: [root] }));
      expect(moved.message).toMatch(/root .*proj is no longer the directory workspace kept was made over .* Put it back, or discard the workspace/);
    } finally {
      spawnSync("rmdir", [root]);
      spawnSync("mv", [join(dir, "proj-moved"), root]);
    }
    expect(diffWorkspace({ stateDir: state, name: "kept" })).toEqual(before);
    expect(before.roots[0]!.changes.map((c) => c.path)).toEqual(["agent.txt"]);
  });

  it("a damaged manifest is reported by name, and does not hide the other workspaces", async () => {
    mkdirSync(join(state, "workspaces", "broken"), { recursive: true });
    writeFileSync(join(state, "workspaces", "broken", "manifest.json"), "{ half a wri");
    try {
      const all = listWorkspaces({ stateDir: state });
      expect(all.find((w) => w.name === "broken")).toMatchObject({ state: "damaged", problem: expect.stringMatching(/manifest\.json is not valid JSON/) });
      expect(all.find((w) => w.name === "kept")?.state).toBe("closed");
      expect(() => diffWorkspace({ stateDir: state, name: "broken" })).toThrow(/broken\/manifest\.json is not valid JSON/);
    } finally {
      removeDir(join(state, "workspaces", "broken"));
    }
  });

  it("a failed first open leaves no workspace behind", async () => {
    await refusal(openWorkspace({ stateDir: state, name: "never", roots: ["/proc/sys"] }));
    expect(listWorkspaces({ stateDir: state }).map((w) => w.name)).not.toContain("never");
  });
});

describe("warden workspace (CLI): exit 0 success, 1 failure, 2 usage", () => {
  it("lists, diffs, checkpoints and discards; reports unknown names and bad state dirs with exit 2", async () => {
    const h = await openWorkspace({ stateDir: state, name: "cli", roots: [root] });
    runInside(h, `cd '${root}'; echo changed > a.txt; printf '\\000bin' > b.bin`);
    const live = warden("list", "--state-dir", state);
    expect(live.status).toBe(0);
    expect(live.stdout).toMatch(new RegExp(`^cli\\s+live \\(pid ${h.holderPid}\\)`, "m"));
    await h.close();
    const list = warden("list", "--state-dir", state);
    expect(list.stdout).toMatch(/^NAME\s+STATE\s+CREATED\s+CHANGES\s+CHECKPOINTS\s+ROOTS$/m);
    expect(list.stdout).toMatch(/^cli\s+closed\s+\S+\s+2 entries, 12 B\s+0\s+\/\S+proj$/m);
    expect(JSON.parse(warden("list", "--json", "--state-dir", state).stdout).find((w: { name: string }) => w.name === "cli")).toMatchObject({ state: "closed", changedEntries: 2 });

    expect(warden("diff", "cli", "--state-dir", state).stdout).toBe("M\ta.txt\nA\tb.bin\n");
    const stat = warden("diff", "cli", "--stat", "--state-dir", state).stdout;
    expect(stat).toContain(" a.txt |    2 +-\n");
    expect(stat).toContain(" b.bin | Bin 0 -> 4 bytes\n");
    expect(stat).toContain(" 2 files changed, 1 insertion(+), 1 deletion(-)\n");
    const patch = warden("diff", "cli", "--patch", "--state-dir", state);
    expect(patch.status).toBe(0);
    expect(patch.stdout).toContain("diff --git a/b.bin b/b.bin\nnew file mode 100644\n");
    expect(patch.stdout).toContain("GIT binary patch\n");

    expect(warden("checkpoint", "cli", "--label", "one", "--state-dir", state).stdout).toBe("checkpoint one of cli\n");
    const dup = warden("checkpoint", "cli", "--label", "one", "--state-dir", state);
    expect(dup.status).toBe(2);
    expect(dup.stderr).toContain("already has a checkpoint labelled one");
    expect(warden("reset", "cli", "--to", "one", "--state-dir", state).stdout).toBe("reset cli to one\n");
    expect(warden("fork", "cli", "cli2", "--from", "one", "--state-dir", state).stdout).toBe("forked cli at one into cli2\n");
    expect(warden("discard", "cli2", "--state-dir", state).stdout).toBe("discarded cli2\n");

    const unknown = warden("diff", "nope", "--state-dir", state);
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toBe(`warden: no workspace named nope in ${state} (\`warden workspace list --state-dir ${state}\` shows the ones there)\n`);
    const file = warden("list", "--state-dir", join(dir, "a-file"));
    expect(file.status).toBe(2);
    expect(file.stderr).toMatch(/state dir .*a-file is not a directory/);
    expect(warden("diff", "cli", "--stat", "--patch", "--state-dir", state).status).toBe(2);
    expect(warden("diff", "--no-such-flag", "cli").status).toBe(2);
    expect(warden("list", "--state-dir", join(dir, "no-state-yet")).stdout).toBe("no workspaces\n");
  });

  it("apply: exit 1 and the paths when the real tree moved underneath; --force applies", async () => {
    const h = await openWorkspace({ stateDir: state, name: "cli-apply", roots: [root] });
    runInside(h, `echo from-agent > '${root}/a.txt'`);
    await h.close();
    writeFileSync(join(root, "a.txt"), "from a human\n");
    const refused = warden("apply", "cli-apply", "--state-dir", state);
    expect(refused.status).toBe(1);
    expect(refused.stdout).toContain(`refused: the real tree changed under 1 path after workspace cli-apply changed them:\n  ${root}/a.txt: changed in the real tree after the workspace changed it\n`);
    expect(readFileSync(join(root, "a.txt"), "utf8")).toBe("from a human\n");
    const forced = warden("apply", "cli-apply", "--force", "--state-dir", state);
    expect(forced.status).toBe(0);
    expect(forced.stdout).toBe("applied: 1 operation on the real tree\n");
    expect(plain(snapshot(root))["a.txt"]?.kind).toBe("file");
    expect(readFileSync(join(root, "a.txt"), "utf8")).toBe("from-agent\n");
  });
});
