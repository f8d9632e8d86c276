import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { mountSmallDisk, type SmallDisk } from "../support/tmpfs.js";
import { makeTempDir, removeDir, writeTree } from "../support/tree.js";
import { CLI, startWarden, type WardenClient } from "../support/warden-client.js";

/**
 * The audit log fails closed, through the real server (`warden serve`, real bubblewrap, a real
 * 256 kB tmpfs for the log): a call that would change something is refused when its intent cannot
 * be written, and nothing happens; a command that ran but whose outcome could not be written says
 * so; and the server refuses to start with the log, its key or its head inside a root.
 */
const base = makeTempDir("warden-failclosed-");
afterAll(() => removeDir(base));

const verify = (file: string) => spawnSync(process.execPath, [CLI, "audit", "verify", "--json", file], { encoding: "utf8" });
const text = (w: WardenClient, r: Awaited<ReturnType<WardenClient["call"]>>) => w.text(r);

function smallDisk(name: string): SmallDisk | null {
  const disk = mountSmallDisk(join(base, name));
  if ("skip" in disk) {
    console.warn(`disk-full server test skipped: ${disk.skip}`);
    return null;
  }
  return disk;
}

/** Until the log cannot take a record: the first read whose result is withheld. */
async function untilLogFull(w: WardenClient): Promise<void> {
  for (let i = 0; i < 64; i++) {
    const r = await w.call("list_directory", { path: "." });
    if (r.isError && text(w, r).includes("audit.unavailable")) return;
  }
  throw new Error("the log never filled up");
}

describe("with the log's disk full", () => {
  it("write_file, edit_file and execute_command are refused and change nothing; with space back the log verifies", async (ctx) => {
    const disk = smallDisk("disk-a");
    if (!disk) return ctx.skip();
    const root = join(base, "root-a");
    writeTree(root, { "a.txt": "before\n" });
    const file = join(disk.dir, "audit.jsonl");
    const w = await startWarden(["--root", root, "--audit-log", file, "--allow", "touch", "--allow", "sleep", "--allow", "cat"]);
    try {
      expect((await w.call("write_file", { path: "ok.txt", content: "fine" })).isError ?? false).toBe(false);
      const cat = String((await w.call("execute_command", { command: "cat", background: true })).structuredContent?.handle);
      disk.fill();
      await untilLogFull(w);

      const refusals = [
        await w.call("write_file", { path: "new.txt", content: "x" }),
        await w.call("write_file", { path: "a.txt", content: "after\n" }),
        await w.call("write_file", { path: "a.txt", content: "more\n", append: true }),
        await w.call("edit_file", { path: "a.txt", edits: [{ old_text: "before", new_text: "edited" }] }),
        await w.call("execute_command", { command: `touch ${join(root, "made-by-command")}` }),
        await w.call("execute_command", { command: `touch ${join(root, "made-in-background")}`, background: true }),
        await w.call("write_process_input", { handle: cat, input: "never-written\n" }),
        await w.call("kill_process", { handle: cat, signal: "SIGKILL" }),
      ];
      for (const r of refusals) {
        expect(r.isError).toBe(true);
        expect(text(w, r)).toMatch(/audit\.unavailable/);
        expect(text(w, r)).toMatch(/ENOSPC|no space/);
      }
      await new Promise((r) => setTimeout(r, 300));
      expect(existsSync(join(root, "new.txt"))).toBe(false);
      expect(readFileSync(join(root, "a.txt"), "utf8")).toBe("before\n");
      expect(existsSync(join(root, "made-by-command"))).toBe(false);
      expect(existsSync(join(root, "made-in-background"))).toBe(false);
      // A dry run changes nothing: it is a read, and its result is withheld too.
      expect(text(w, await w.call("edit_file", { path: "a.txt", edits: [{ old_text: "before", new_text: "x" }], dry_run: true }))).toMatch(/withheld.*audit log cannot record/);

      disk.free();
      // The background process neither got the input nor was killed.
      expect((await w.call("read_process_output", { handle: cat })).structuredContent).toMatchObject({ running: true, output: "" });
      expect((await w.call("kill_process", { handle: cat, signal: "SIGKILL" })).structuredContent).toMatchObject({ running: false });
      expect((await w.call("write_file", { path: "new.txt", content: "x" })).isError ?? false).toBe(false);
      expect(readFileSync(join(root, "new.txt"), "utf8")).toBe("x");
      await w.close();
      const result = verify(file);
      expect(result.status).toBe(0);
      expect(JSON.parse(result.stdout)).toMatchObject({ ok: true });
    } finally {
      await w.close();
      disk.unmount();
    }
  });

  it("a command that fills the disk it shares with the log has run, and says its outcome is not recorded; the next changes are refused", async (ctx) => {
    const disk = smallDisk("disk-b");
    if (!disk) return ctx.skip();
    const root = join(disk.dir, "root");
    mkdirSync(root);
    const file = join(disk.dir, "log", "audit.jsonl");
    const w = await startWarden(["--root", root, "--audit-log", file, "--allow", "head", "--allow", "touch", "--allow", "echo", "--allow", "sleep"]);
    try {
      // The command fills the disk from inside its root, then lingers while the log's last page
      // fills up too (a read's record is smaller than the command's outcome).
      const filling = w.call("execute_command", { command: "head -c 1000000 /dev/zero > fill; echo filled; sleep 3" });
      for (let i = 0; i < 200 && !existsSync(join(root, "fill")); i++) await new Promise((r) => setTimeout(r, 20));
      await new Promise((r) => setTimeout(r, 300));
      await untilLogFull(w);
      const filled = await filling;
      expect(filled.isError).toBe(true);
      expect(text(w, filled)).toMatch(/the command ran, but its outcome could not be recorded \(.*ENOSPC.*\); the audit log holds its intent without an outcome/s);
      expect(text(w, filled)).toContain("filled");
      expect(text(w, filled)).toContain("[rule: audit.outcome_unrecorded]");
      // An empty file needs no free block: only the audit log stops these.
      expect(text(w, await w.call("write_file", { path: "empty.txt", content: "" }))).toMatch(/audit\.unavailable/);
      expect(text(w, await w.call("execute_command", { command: `touch ${join(root, "touched")}` }))).toMatch(/audit\.unavailable/);
      expect(existsSync(join(root, "empty.txt"))).toBe(false);
      expect(existsSync(join(root, "touched"))).toBe(false);
      rmSync(join(root, "fill"));
      expect((await w.call("write_file", { path: "empty.txt", content: "" })).isError ?? false).toBe(false);
      expect(existsSync(join(root, "empty.txt"))).toBe(true);
      await w.close();
      const result = verify(file);
      expect(result.status).toBe(0);
      // The filling command's intent stands alone: the log says it may have happened.
      expect(JSON.parse(result.stdout)).toMatchObject({ ok: true, open_intents: [{ tool: "execute_command" }] });
    } finally {
      await w.close();
      disk.unmount();
    }
  });
});

describe("the log, its key and its head are out of every root's reach", () => {
  const serve = (args: string[], cwd = base) => spawnSync(process.execPath, [CLI, "serve", ...args], { encoding: "utf8", cwd, input: "", timeout: 30_000 });

  it.each([
    ["the log inside a read-write root", (d: string) => ["--root", d, "--audit-log", join(d, "sub", "audit.jsonl")], /the audit log .*sub\/audit\.jsonl lies inside the read-write root/],
    ["the log inside a read-only root", (d: string) => ["--read-only", d, "--audit-log", join(d, "audit.jsonl")], /the audit log .* lies inside the read-only root/],
    ["the log reached through a symlink into a root", (d: string) => (symlinkSync(d, join(base, `link-${d.split("-").pop()}`)), ["--root", d, "--audit-log", join(base, `link-${d.split("-").pop()}`, "audit.jsonl")]), /the audit log .* lies inside the read-write root/],
    ["the key inside a root", (d: string) => ["--root", d, "--audit-log", join(base, "elsewhere", `${d.split("-").pop()}.jsonl`)], /the audit key .* lies inside the read-write root/, (d: string) => ({ WARDEN_AUDIT_KEY: join(d, "k") })],
    ["the head inside a root", (d: string) => ["--root", d, "--audit-log", join(base, "elsewhere", `${d.split("-").pop()}.jsonl`)], /the audit head .* lies inside the read-write root/, (d: string) => ({ WARDEN_AUDIT_HEAD: join(d, "h") })],
    ["the log in a system directory commands see", (d: string) => ["--root", d, "--audit-log", `/etc/warden-test-${d.split("-").pop()}.jsonl`], /lies inside \/etc, which every command sees read-only/],
  ])("refuses to start with %s", (_name, args, message, env?: (d: string) => Record<string, string>) => {
    const dir = makeTempDir("warden-exposed-");
    try {
      const r = spawnSync(process.execPath, [CLI, "serve", ...args(dir)], { encoding: "utf8", cwd: base, input: "", timeout: 30_000, env: { ...process.env, ...(env?.(dir) ?? {}) } });
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(/refusing to start/);
      expect(r.stderr).toMatch(message);
    } finally {
      // Nothing was created, not even in /etc (a server that started would have made its log there).
      const etc = `/etc/warden-test-${dir.split("-").pop()}.jsonl`;
      const created = [etc, `${etc}.key`, `${etc}.head`].filter((f) => existsSync(f));
      for (const f of created) rmSync(f);
      removeDir(dir);
      expect(created).toEqual([]);
    }
  });

  it("with no roots configured, refuses a log in the working directory (the fallback root)", () => {
    const dir = makeTempDir("warden-cwd-");
    try {
      const r = serve(["--audit-log", "audit.jsonl"], dir);
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(/the audit log .*audit\.jsonl lies inside the read-write root/);
    } finally {
      removeDir(dir);
    }
  });

  it("with no roots configured, a session whose client roots contain the log is refused, and recorded", async () => {
    const dir = makeTempDir("warden-client-");
    const project = join(dir, "project");
    writeTree(project, { "a.txt": "a\n" });
    const logs = join(dir, "logs");
    const file = join(logs, "audit.jsonl");
    mkdirSync(logs);
    writeFileSync(join(logs, "note"), "");
    const w = await startWarden(["--audit-log", file], { clientRoots: [dir], cwd: project });
    try {
      for (const [tool, args] of [["read_file", { path: join(logs, "audit.jsonl") }], ["write_file", { path: join(project, "b.txt"), content: "x" }], ["execute_command", { command: "true" }]] as const) {
        const r = await w.call(tool, args);
        expect(r.isError).toBe(true);
        expect(w.text(r)).toMatch(/refused: the audit log .*audit\.jsonl lies inside the read-write root .*\[rule: audit\.exposed\]/);
      }
      expect(existsSync(join(project, "b.txt"))).toBe(false);
      // Narrowed to the project, the session works.
      await w.setRoots([project]);
      expect(w.text(await w.call("read_file", { path: join(project, "a.txt") }))).toContain("a");
    } finally {
      await w.close();
      const recs = readFileSync(file, "utf8").trim().split("\n").map((l) => JSON.parse(l));
      expect(recs.filter((r) => r.rule === "audit.exposed")).toHaveLength(3);
      removeDir(dir);
    }
  });
});
