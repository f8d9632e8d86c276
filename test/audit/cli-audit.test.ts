import { renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Command } from "commander";
import { afterEach, describe, expect, it, vi } from "vitest";
import { recordIntent } from "../../src/audit/call-audit.js";
import { openAuditLog } from "../../src/audit/file-log.js";
import { registerAuditCommand } from "../../src/cli/commands/audit.js";
import { entry, lines, tempDir } from "./helpers.js";

async function run(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = "";
  let err = "";
  const o = vi.spyOn(process.stdout, "write").mockImplementation((chunk) => ((out += String(chunk)), true));
  const e = vi.spyOn(process.stderr, "write").mockImplementation((chunk) => ((err += String(chunk)), true));
  try {
    const program = new Command("warden").exitOverride();
    registerAuditCommand(program);
    process.exitCode = undefined;
    await program.parseAsync(["node", "warden", "audit", ...args]);
    return { code: Number(process.exitCode ?? 0), out, err };
  } finally {
    o.mockRestore();
    e.mockRestore();
  }
}

async function makeLog(n: number): Promise<string> {
  const file = join(tempDir(), "audit.jsonl");
  const log = await openAuditLog(file, { log: () => {} });
  for (let i = 1; i <= n; i++) await log.record(entry(i));
  await log.close();
  return file;
}

afterEach(() => {
  process.exitCode = undefined;
});

describe("warden audit verify", () => {
  it("prints ok: N records and exits 0", async () => {
    const file = await makeLog(7);
    expect(await run("verify", file)).toEqual({ code: 0, out: "ok: 7 records\n", err: "" });
  });

  it("prints the first bad record and exits 1", async () => {
    const file = await makeLog(7);
    const ls = lines(file);
    ls.splice(2, 1);
    writeFileSync(file, ls.join("\n") + "\n");
    const { code, out } = await run("verify", file);
    expect(code).toBe(1);
    expect(out).toMatch(/^broken at line 3 \(seq 4\): seq gap: expected seq 3, found 4/);
    expect(out).toContain("2 records verified before it");
    expect(out).toMatch(/record: \{"seq":4,/);
  });

  it("escapes control characters of a tampered line", async () => {
    const file = await makeLog(2);
    writeFileSync(file, lines(file)[0] + "\n\u001b]0;pwned\u0007\n");
    const { code, out } = await run("verify", file);
    expect(code).toBe(1);
    expect(out).not.toContain("\u001b");
    expect(out).toContain("\\u001b]0;pwned\\u0007");
  });

  it("--json prints the result object", async () => {
    const file = await makeLog(3);
    const { code, out } = await run("verify", "--json", file);
    expect(code).toBe(0);
    expect(JSON.parse(out)).toEqual({ ok: true, records: 3 });
  });

  it("finds a cut tail with the key and head beside the log, and names the first missing record", async () => {
    const file = await makeLog(7);
    writeFileSync(file, lines(file).slice(0, 5).join("\n") + "\n");
    const { code, out } = await run("verify", file);
    expect(code).toBe(1);
    expect(out).toMatch(/^broken at line 6 \(seq 6\): cut tail: the log ends at seq 5, but its head says it reached seq 7/);
    expect(out).toContain("5 records verified before it");
    // --no-head checks the chain alone, and says so.
    expect(await run("verify", "--no-head", file)).toMatchObject({ code: 0, out: "ok: 5 records (tail not checked: --no-head)\n" });
  });

  it("takes the key and head from --key and --head", async () => {
    const file = await makeLog(3);
    const dir = tempDir();
    renameSync(`${file}.key`, join(dir, "k"));
    renameSync(`${file}.head`, join(dir, "h"));
    expect((await run("verify", file)).code).toBe(2);
    expect(await run("verify", "--key", join(dir, "k"), "--head", join(dir, "h"), file)).toMatchObject({ code: 0, out: "ok: 3 records\n" });
    const missing = await run("verify", "--key", join(dir, "nope"), file);
    expect(missing.code).toBe(2);
    expect(missing.err).toMatch(/key file .*nope does not exist/);
  });

  it("lists intents without an outcome and still exits 0", async () => {
    const file = join(tempDir(), "audit.jsonl");
    const log = await openAuditLog(file, { log: () => {} });
    const done = await recordIntent(log, { tool: "write_file", args: { path: "/r/a" } });
    if (done.ok) await done.finish({ decision: "allow", rule: "allow", duration_ms: 1 });
    await recordIntent(log, { tool: "execute_command", args: { command: "sleep 9" }, rule: "commands.allow:sleep" });
    await log.close();
    const { code, out } = await run("verify", file);
    expect(code).toBe(0);
    expect(out).toMatch(/^ok: 3 records\n1 intent without an outcome .*\n {2}line 3 \(seq 3\): execute_command id [0-9a-f]{16}\n$/);
    expect(JSON.parse((await run("verify", "--json", file)).out)).toMatchObject({ ok: true, records: 3, open_intents: [{ line: 3, seq: 3, tool: "execute_command" }] });
  });

  it("exits 2 when the file cannot be read", async () => {
    const { code, out, err } = await run("verify", join(tempDir(), "nope.jsonl"));
    expect(code).toBe(2);
    expect(out).toBe("");
    expect(err).toMatch(/cannot verify .*nope\.jsonl/);
  });
});
