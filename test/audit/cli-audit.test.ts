import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { Command } from "commander";
import { afterEach, describe, expect, it, vi } from "vitest";
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

  it("exits 2 when the file cannot be read", async () => {
    const { code, out, err } = await run("verify", join(tempDir(), "nope.jsonl"));
    expect(code).toBe(2);
    expect(out).toBe("");
    expect(err).toMatch(/cannot read .*nope\.jsonl/);
  });
});
