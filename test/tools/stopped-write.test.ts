import { existsSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { parsePolicy } from "../../src/config/load-policy.js";
import { createSandbox } from "../../src/sandbox/index.js";
import type { ModuleRunRequest, ModuleRunResult, Sandbox } from "../../src/sandbox/types.js";
import { editFileTool } from "../../src/tools/edit-file.js";
import { writeFileTool } from "../../src/tools/write-file.js";
import type { ToolContext } from "../../src/tools/tool.js";

/*
 * A write or edit stopped at its deadline midway leaves no temporary file: the tool chose the
 * temporary file's tag and removes it with a second run. The stop is simulated where it matters: the
 * replacing run creates its temporary file (as the killed module would have) and reports a timeout;
 * the clean-up run is the real module in the real sandbox.
 */

const root = realpathSync(mkdtempSync(join(tmpdir(), "warden-stopped-")));
const real = createSandbox({ workers: 1 });
afterAll(async () => {
  await real.close();
  rmSync(root, { recursive: true, force: true });
});

function stoppingSandbox(seen: ModuleRunRequest[]): Sandbox {
  return {
    workers: 1,
    async run(req: ModuleRunRequest): Promise<ModuleRunResult> {
      seen.push(req);
      if (req.args.includes("--discard-tmp")) return real.run(req);
      const tag = req.args.find((a) => a.startsWith("--tmp-tag="))?.slice("--tmp-tag=".length);
      const target = req.args[req.args.length - 1]!;
      const dir = target.slice(0, target.lastIndexOf("/"));
      const name = target.slice(target.lastIndexOf("/") + 1);
      writeFileSync(join(dir, `.${name}.warden-${tag}.tmp`), "half of the new content");
      return { exitCode: 124, stdout: new Uint8Array(), stderr: "ETIMEDOUT: stopped\n", denials: [], timedOut: true, durationMs: 100 };
    },
    close: async () => {},
  };
}

const ctx = (sandbox: Sandbox): ToolContext =>
  ({
    roots: async () => [{ path: root, writable: true }],
    sandbox,
    policy: parsePolicy({}),
    services: {},
    progress: async () => {},
    signal: new AbortController().signal,
    session: "test",
  }) as ToolContext;

const temps = () => readdirSync(root).filter((f) => f.includes(".warden-"));

describe("a replacing write stopped at its deadline", () => {
  it("write_file: the old file stays, the temporary file is removed, the error says so", async () => {
    writeFileSync(join(root, "a.txt"), "old content");
    const seen: ModuleRunRequest[] = [];
    const out = await writeFileTool.handler({ path: "a.txt", content: "new content" }, ctx(stoppingSandbox(seen)));
    expect(out).toMatchObject({ ok: false, rule: "tool.timeout" });
    expect(!out.ok && out.message).toContain("the file is unchanged and its temporary file was removed");
    expect(readFileSync(join(root, "a.txt"), "utf8")).toBe("old content");
    expect(temps()).toEqual([]);
    // the clean-up named the same tag as the stopped run, and nothing else
    const tags = seen.map((r) => r.args.find((a) => a.startsWith("--tmp-tag=")));
    expect(tags[0]).toMatch(/^--tmp-tag=[0-9a-f]{8}$/);
    expect(tags[1]).toBe(tags[0]);
  });

  it("edit_file: the same", async () => {
    writeFileSync(join(root, "b.txt"), "x = 1\n");
    const out = await editFileTool.handler({ path: "b.txt", edits: [{ old_text: "1", new_text: "2" }] }, ctx(stoppingSandbox([])));
    expect(out).toMatchObject({ ok: false, rule: "tool.timeout" });
    expect(readFileSync(join(root, "b.txt"), "utf8")).toBe("x = 1\n");
    expect(temps()).toEqual([]);
  });

  it("another writer's temporary file beside the same file is left alone", async () => {
    writeFileSync(join(root, "c.txt"), "c");
    writeFileSync(join(root, ".c.txt.warden-0badf00d.tmp"), "theirs");
    await writeFileTool.handler({ path: "c.txt", content: "mine" }, ctx(stoppingSandbox([])));
    expect(temps()).toEqual([".c.txt.warden-0badf00d.tmp"]);
    rmSync(join(root, ".c.txt.warden-0badf00d.tmp"));
  });

  it("a write that is not stopped and an append do not run a clean-up", async () => {
    const seen: ModuleRunRequest[] = [];
    const counting: Sandbox = { workers: 1, run: (r) => (seen.push(r), real.run(r)), close: async () => {} };
    expect(await writeFileTool.handler({ path: "d.txt", content: "d" }, ctx(counting))).toMatchObject({ ok: true });
    expect(await writeFileTool.handler({ path: "d.txt", content: "e", append: true }, ctx(counting))).toMatchObject({ ok: true });
    expect(seen.map((r) => r.args.some((a) => a.startsWith("--tmp-tag")))).toEqual([true, false]);
    expect(readFileSync(join(root, "d.txt"), "utf8")).toBe("de");
    expect(existsSync(join(root, "d.txt"))).toBe(true);
  });
});
