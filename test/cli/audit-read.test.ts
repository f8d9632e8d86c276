import { spawn, spawnSync } from "node:child_process";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openAuditLog } from "../../src/audit/file-log.js";
import type { AuditEntry } from "../../src/audit/types.js";
import { makeTempDir, removeDir } from "../support/tree.js";

const CLI = join(process.cwd(), "dist/cli/main.js");
const warden = (...args: string[]) => spawnSync(process.execPath, [CLI, ...args], { encoding: "utf8", env: { ...process.env, WARDEN_AUDIT_LOG: "" } });

const entry = (over: Partial<AuditEntry>): AuditEntry => ({ time: "2026-12-04T10:00:00.000Z", args: {}, tool: "read_file", decision: "allow", rule: "allow", duration_ms: 1, session: "s-1", transport: "http", ...over });

describe("warden audit tail|query|stats", () => {
  let dir: string;
  let log: string;
  beforeAll(async () => {
    dir = makeTempDir("warden-audit-read-");
    log = join(dir, "audit.jsonl");
    const sink = await openAuditLog(log, { log: () => {} });
    await sink.record(entry({ request: "1" }));
    await sink.record(entry({ time: "2026-12-04T10:05:00.000Z", tool: "execute_command", decision: "deny", rule: "commands.default_deny", client: '=HYPERLINK("http://evil")', request: "2" }));
    await sink.record(entry({ time: "2026-12-04T10:10:00.000Z", tool: "execute_command", decision: "deny", rule: "commands.default_deny", session: "s-2", request: "1" }));
    await sink.record(entry({ time: "2026-12-04T10:15:00.000Z", tool: "write_file", decision: "error", rule: "fs.not_found", session: "s-2" }));
    await sink.close();
  });
  afterAll(() => removeDir(dir));

  it("queries with filters as JSON lines and as CSV (formula cells defused)", () => {
    const json = warden("audit", "query", log, "--decision", "deny", "--json");
    expect(json.status).toBe(0);
    const records = json.stdout.trim().split("\n").map((l) => JSON.parse(l));
    expect(records.map((r) => r.seq)).toEqual([2, 3]);
    const csv = warden("audit", "query", log, "--session", "s-1", "--csv");
    const lines = csv.stdout.trim().split("\n");
    expect(lines[0]).toBe("seq,time,tool,decision,rule,session,request,transport,client,duration_ms,exit_code,args");
    expect(lines).toHaveLength(3);
    // The client's name is the client's to choose: a spreadsheet must not run it.
    expect(lines[2]).toContain(`"'=HYPERLINK(""http://evil"")"`);
    const window = warden("audit", "query", log, "--since", "2026-12-04T10:04:00Z", "--until", "2026-12-04T10:12:00Z", "--rule", "commands.*", "--json");
    expect(window.stdout.trim().split("\n")).toHaveLength(2);
  });

  it("tails the last records and follows new ones with -f", async () => {
    const tail = warden("audit", "tail", log, "-n", "2");
    expect(tail.stdout.trim().split("\n")).toEqual([expect.stringMatching(/#3 deny\s+execute_command \[commands\.default_deny\] session=s-2/), expect.stringMatching(/#4 error\s+write_file/)]);
    const child = spawn(process.execPath, [CLI, "audit", "tail", log, "-f", "-n", "1", "--decision", "deny"], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (c: Buffer) => (out += c.toString()));
    try {
      await until(() => out.includes("#3"));
      const sink = await openAuditLog(log, { log: () => {} });
      await sink.record(entry({ tool: "execute_command", decision: "allow", rule: "commands.allow[0]" }));
      await sink.record(entry({ tool: "execute_command", decision: "deny", rule: "commands.deny[1]", session: "s-3" }));
      await sink.close();
      await until(() => out.includes("#6"));
      expect(out).not.toContain("#5");
      expect(out).toMatch(/#6 deny\s+execute_command \[commands\.deny\[1\]\] session=s-3/);
    } finally {
      child.kill();
    }
  });

  it("prints stats: decisions, tools and the top denying rules", () => {
    const stats = warden("audit", "stats", log, "--json");
    const s = JSON.parse(stats.stdout);
    expect(s.by_decision).toMatchObject({ allow: expect.any(Number), deny: expect.any(Number), error: 1 });
    expect(s.top_denials[0]).toEqual({ rule: "commands.default_deny", tool: "execute_command", count: 2 });
    expect(warden("audit", "stats", log).stdout).toMatch(/top denials \(count, rule, tool\):\n\s+2  commands\.default_deny  execute_command/);
  });

  it("refuses malformed filters and a missing log with exit 2 and a message naming the fix", () => {
    const cases: [string[], RegExp][] = [
      [["audit", "query", log, "--decision", "sometimes"], /decision "sometimes" is not one of allow, deny, error, intent/],
      [["audit", "query", log, "--since", "last tuesday"], /since "last tuesday" is not a time: give an ISO 8601 time/],
      [["audit", "query", log, "--json", "--csv"], /give --json or --csv, not both/],
      [["audit", "tail"], /which audit log\? give it as an argument/],
    ];
    for (const [args, message] of cases) {
      const r = warden(...args);
      expect(r.status, args.join(" ")).toBe(2);
      expect(r.stderr).toMatch(message);
      expect(r.stdout).toBe("");
    }
  });
});

async function until(ok: () => boolean, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!ok()) {
    if (Date.now() > end) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 50));
  }
}
