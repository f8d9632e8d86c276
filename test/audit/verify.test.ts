import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { chainEntry, GENESIS_HEAD, recordHash } from "../../src/audit/chain.js";
import { openAuditLog } from "../../src/audit/file-log.js";
import { verifyAuditLog } from "../../src/audit/verify.js";
import { entry, lines, tempDir, writeLines } from "./helpers.js";

const N = 10;
let good: string[];

beforeAll(async () => {
  const file = join(tempDir(), "good.jsonl");
  const log = await openAuditLog(file, { log: () => {} });
  for (let i = 1; i <= N; i++) await log.record(entry(i));
  await log.close();
  good = lines(file);
});

function tampered(edit: (ls: string[]) => string[], trailingNewline = true): string {
  const file = join(tempDir(), "t.jsonl");
  writeLines(file, edit([...good]), trailingNewline);
  return file;
}

const rec = (line: string) => JSON.parse(line) as Record<string, unknown>;
const withoutHashFix = (line: string, change: (r: Record<string, unknown>) => void) => {
  const r = rec(line);
  change(r);
  return JSON.stringify(r);
};
const withHashFix = (line: string, change: (r: Record<string, unknown>) => void) => {
  const r = rec(line);
  change(r);
  r.hash = recordHash(r);
  return JSON.stringify(r);
};

/** [what the attacker (or the disk) did, the edit, expected line, expected seq, problem pattern]. */
const CASES: [string, (ls: string[]) => string[], number, number | undefined, RegExp][] = [
  ["edit a field (decision)", (ls) => ((ls[3] = withoutHashFix(ls[3]!, (r) => (r.decision = r.decision === "allow" ? "deny" : "allow"))), ls), 4, undefined, /hash mismatch/],
  ["edit a field in args", (ls) => ((ls[6] = ls[6]!.replace("file-7", "file-8")), ls), 7, undefined, /hash mismatch/],
  ["edit the hash itself", (ls) => ((ls[2] = withoutHashFix(ls[2]!, (r) => (r.hash = "f".repeat(64)))), ls), 3, undefined, /hash mismatch/],
  ["rewrite a record and its hash: caught at the next record", (ls) => ((ls[4] = withHashFix(ls[4]!, (r) => (r.rule = "forged"))), ls), 6, 6, /prev mismatch/],
  ["delete the first line", (ls) => ls.slice(1), 1, 2, /seq gap: expected seq 1, found 2/],
  ["delete a middle line", (ls) => (ls.splice(4, 1), ls), 5, 6, /seq gap: expected seq 5, found 6/],
  ["delete two lines", (ls) => (ls.splice(2, 2), ls), 3, 5, /seq gap/],
  ["swap two lines", (ls) => ([ls[3], ls[4]] = [ls[4]!, ls[3]!]) && ls, 4, 5, /seq gap: expected seq 4, found 5/],
  ["move a line to the end", (ls) => [...ls.slice(0, 2), ...ls.slice(3), ls[2]!], 3, 4, /seq gap/],
  ["duplicate a line", (ls) => (ls.splice(5, 0, ls[4]!), ls), 6, 5, /duplicate of line 5/],
  ["duplicate an older line", (ls) => (ls.splice(5, 0, ls[1]!), ls), 6, 2, /seq 2 out of order/],
  [
    "insert a forged line with a valid hash and the right prev",
    (ls) => {
      const prev = rec(ls[3]!);
      const forged = chainEntry({ seq: prev.seq as number, hash: prev.hash as string }, entry(77, { rule: "forged" })).line.trimEnd();
      ls.splice(4, 0, forged);
      return ls;
    },
    5,
    5,
    /inserted record/,
  ],
  ["insert a naive forged line", (ls) => (ls.splice(2, 0, JSON.stringify({ ...rec(ls[2]!), rule: "x" })), ls), 3, 3, /hash mismatch/],
  ["insert a forged first line", (ls) => [chainEntry(GENESIS_HEAD, entry(5)).line.trimEnd(), ...ls], 1, 1, /inserted record/],
  ["insert garbage", (ls) => (ls.splice(7, 0, "hello"), ls), 8, undefined, /not a JSON record/],
  ["insert a blank line", (ls) => (ls.splice(7, 0, ""), ls), 8, undefined, /not a JSON record/],
  ["insert a JSON array", (ls) => (ls.splice(1, 0, "[1,2]"), ls), 2, undefined, /not a JSON object/],
  ["reformat a line (spaces)", (ls) => ((ls[2] = JSON.stringify(rec(ls[2]!), null, 1).replace(/\n/g, "")), ls), 3, 3, /serialization/],
  ["duplicate key hiding a value", (ls) => ((ls[2] = ls[2]!.replace('{"seq":3,', '{"seq":3,"rule":"shown-to-grep",')), ls), 3, 3, /serialization/],
  ["remove the prev field", (ls) => ((ls[1] = withHashFix(ls[1]!, (r) => delete r.prev)), ls), 2, undefined, /invalid prev/],
  ["truncate the tail mid-record", (ls) => ((ls[9] = ls[9]!.slice(0, 50)), ls), 10, 10, /torn tail/],
];

describe("verifyAuditLog finds tampering on the right line", () => {
  it("accepts the untouched log", async () => {
    expect(await verifyAuditLog(tampered((ls) => ls))).toEqual({ ok: true, records: N });
  });

  it.each(CASES)("%s", async (_name, edit, line, seq, problem) => {
    const trailing = !_name.startsWith("truncate");
    const result = await verifyAuditLog(tampered(edit, trailing));
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.line).toBe(line);
    if (seq !== undefined) expect(result.seq).toBe(seq);
    expect(result.problem).toMatch(problem);
    expect(result.records).toBeLessThan(line);
  });

  it("counts the records that verified before the bad one", async () => {
    const result = await verifyAuditLog(tampered((ls) => ((ls[6] = ls[6]!.replace("file-7", "file-8")), ls)));
    expect(result).toMatchObject({ ok: false, line: 7, records: 6 });
    if (!result.ok) expect(result.text).toContain("file-8");
  });

  it("key order is free: the hash is over sorted keys, so reordering keeps the content and verifies", async () => {
    const file = tampered((ls) => ((ls[2] = JSON.stringify(Object.fromEntries(Object.entries(rec(ls[2]!)).reverse()))), ls));
    expect(await verifyAuditLog(file)).toEqual({ ok: true, records: N });
  });

  it("cannot see records cut off at a line boundary at the end (anchor the last hash for that)", async () => {
    expect(await verifyAuditLog(tampered((ls) => ls.slice(0, 7)))).toEqual({ ok: true, records: 7 });
  });

  it("accepts an empty log and rejects a missing one", async () => {
    const dir = tempDir();
    writeFileSync(join(dir, "empty.jsonl"), "");
    expect(await verifyAuditLog(join(dir, "empty.jsonl"))).toEqual({ ok: true, records: 0 });
    await expect(verifyAuditLog(join(dir, "missing.jsonl"))).rejects.toThrow(/ENOENT/);
  });

  it("verifies a log larger than its read chunk", async () => {
    const file = join(tempDir(), "big.jsonl");
    const log = await openAuditLog(file, { log: () => {} });
    for (let i = 0; i < 3000; i++) await log.record(entry(i, { args: { command: `echo ${"y".repeat(500)} ${i}` } }));
    await log.close();
    expect(await verifyAuditLog(file)).toEqual({ ok: true, records: 3000 });
  });
});
