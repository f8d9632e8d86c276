import { copyFileSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { chainEntry, GENESIS_HEAD, recordHash, recordMac } from "../../src/audit/chain.js";
import { openAuditLog } from "../../src/audit/file-log.js";
import { readKeyFile } from "../../src/audit/key.js";
import { verifyAuditLog } from "../../src/audit/verify.js";
import { entry, lines, tempDir, writeLines } from "./helpers.js";

const N = 10;
let good: string[];
let goodFile: string;
let key: Buffer;

beforeAll(async () => {
  goodFile = join(tempDir(), "good.jsonl");
  const log = await openAuditLog(goodFile, { log: () => {} });
  for (let i = 1; i <= N; i++) await log.record(entry(i));
  await log.close();
  good = lines(goodFile);
  key = readKeyFile(`${goodFile}.key`)!;
});

/** The good log edited, beside copies of its key and head (where verify looks by default). */
function tampered(edit: (ls: string[]) => string[], trailingNewline = true): string {
  const file = join(tempDir(), "t.jsonl");
  writeLines(file, edit([...good]), trailingNewline);
  copyFileSync(`${goodFile}.key`, `${file}.key`);
  copyFileSync(`${goodFile}.head`, `${file}.head`);
  return file;
}

/** Every record chained again from scratch: with another key, or in the unkeyed legacy format (null). */
function rechained(with_: Buffer | null): (ls: string[]) => string[] {
  return (ls) => {
    let head = GENESIS_HEAD;
    return ls.map((l) => {
      const { seq: _s, prev: _p, mac: _m, ...fields } = rec(l);
      const { record, line } = chainEntry(head, fields as never, with_);
      head = { seq: record.seq, hash: (record.mac ?? record.hash)! };
      return line.trimEnd();
    });
  };
}

const rec = (line: string) => JSON.parse(line) as Record<string, unknown>;
const withoutHashFix = (line: string, change: (r: Record<string, unknown>) => void) => {
  const r = rec(line);
  change(r);
  return JSON.stringify(r);
};
/** An edit by someone who holds the key. */
const withMacFix = (line: string, change: (r: Record<string, unknown>) => void) => {
  const r = rec(line);
  change(r);
  r.mac = recordMac(key, r);
  return JSON.stringify(r);
};

/** [what the attacker (or the disk) did, the edit, expected line, expected seq, problem pattern]. */
const CASES: [string, (ls: string[]) => string[], number, number | undefined, RegExp][] = [
  ["edit a field (decision)", (ls) => ((ls[3] = withoutHashFix(ls[3]!, (r) => (r.decision = r.decision === "allow" ? "deny" : "allow"))), ls), 4, undefined, /mac mismatch/],
  ["edit a field in args", (ls) => ((ls[6] = ls[6]!.replace("file-7", "file-8")), ls), 7, undefined, /mac mismatch/],
  ["edit the mac itself", (ls) => ((ls[2] = withoutHashFix(ls[2]!, (r) => (r.mac = "f".repeat(64)))), ls), 3, undefined, /mac mismatch/],
  ["rewrite a record and its mac with the key: caught at the next record", (ls) => ((ls[4] = withMacFix(ls[4]!, (r) => (r.rule = "forged"))), ls), 6, 6, /prev mismatch/],
  ["rewrite a record and its mac without the key", (ls) => ((ls[4] = JSON.stringify({ ...rec(ls[4]!), rule: "forged", mac: recordMac(randomBytes(32), { ...rec(ls[4]!), rule: "forged" }) })), ls), 5, 5, /mac mismatch/],
  ["rewrite a record as an unkeyed one (plain hash)", (ls) => ((ls[4] = (({ mac: _m, ...r }) => JSON.stringify({ ...r, rule: "forged", hash: recordHash({ ...r, rule: "forged" }) }))(rec(ls[4]!))), ls), 5, 5, /unkeyed.*after keyed/],
  ["delete the first line", (ls) => ls.slice(1), 1, 2, /seq gap: expected seq 1, found 2/],
  ["delete a middle line", (ls) => (ls.splice(4, 1), ls), 5, 6, /seq gap: expected seq 5, found 6/],
  ["delete two lines", (ls) => (ls.splice(2, 2), ls), 3, 5, /seq gap/],
  ["swap two lines", (ls) => ([ls[3], ls[4]] = [ls[4]!, ls[3]!]) && ls, 4, 5, /seq gap: expected seq 4, found 5/],
  ["move a line to the end", (ls) => [...ls.slice(0, 2), ...ls.slice(3), ls[2]!], 3, 4, /seq gap/],
  ["duplicate a line", (ls) => (ls.splice(5, 0, ls[4]!), ls), 6, 5, /duplicate of line 5/],
  ["duplicate an older line", (ls) => (ls.splice(5, 0, ls[1]!), ls), 6, 2, /seq 2 out of order/],
  [
    "insert a line sealed with the key and the right prev",
    (ls) => {
      const prev = rec(ls[3]!);
      const forged = chainEntry({ seq: prev.seq as number, hash: prev.mac as string }, entry(77, { rule: "forged" }), key).line.trimEnd();
      ls.splice(4, 0, forged);
      return ls;
    },
    5,
    5,
    /inserted record/,
  ],
  [
    "insert a line with the right prev, sealed without the key",
    (ls) => {
      const prev = rec(ls[3]!);
      ls.splice(4, 0, chainEntry({ seq: prev.seq as number, hash: prev.mac as string }, entry(77), randomBytes(32)).line.trimEnd());
      return ls;
    },
    5,
    undefined,
    /mac mismatch/,
  ],
  ["insert a naive forged line", (ls) => (ls.splice(2, 0, JSON.stringify({ ...rec(ls[2]!), rule: "x" })), ls), 3, 3, /mac mismatch/],
  ["insert a forged first line (with the key)", (ls) => [chainEntry(GENESIS_HEAD, entry(5), key).line.trimEnd(), ...ls], 1, 1, /inserted record/],
  ["insert garbage", (ls) => (ls.splice(7, 0, "hello"), ls), 8, undefined, /not a JSON record/],
  ["insert a blank line", (ls) => (ls.splice(7, 0, ""), ls), 8, undefined, /not a JSON record/],
  ["insert a JSON array", (ls) => (ls.splice(1, 0, "[1,2]"), ls), 2, undefined, /not a JSON object/],
  ["reformat a line (spaces)", (ls) => ((ls[2] = JSON.stringify(rec(ls[2]!), null, 1).replace(/\n/g, "")), ls), 3, 3, /serialization/],
  ["duplicate key hiding a value", (ls) => ((ls[2] = ls[2]!.replace('{"seq":3,', '{"seq":3,"rule":"shown-to-grep",')), ls), 3, 3, /serialization/],
  ["remove the prev field", (ls) => ((ls[1] = withMacFix(ls[1]!, (r) => delete r.prev)), ls), 2, undefined, /invalid prev/],
  ["truncate the tail mid-record", (ls) => ((ls[9] = ls[9]!.slice(0, 50)), ls), 10, 10, /torn tail/],
  ["drop the last record", (ls) => ls.slice(0, N - 1), N, N, /cut tail: the log ends at seq 9, but its head says it reached seq 10.*record 10 was removed/],
  ["drop the last three records", (ls) => ls.slice(0, N - 3), N - 2, N - 2, /cut tail: .*records 8\.\.10 were removed/],
  ["drop every record", () => [], 1, 1, /cut tail: the log ends at seq 0/],
  ["replace the log with one re-chained under another key", rechained(randomBytes(32)), 1, undefined, /mac mismatch/],
  ["replace the log with one re-chained in the unkeyed format", rechained(null), 1, 1, /unkeyed .* where the head says the log is keyed from seq 1/],
];

describe("verifyAuditLog finds tampering on the right line", () => {
  it("accepts the untouched log", async () => {
    expect(await verifyAuditLog(tampered((ls) => ls))).toEqual({ ok: true, records: N });
  });

  it.each(CASES)("%s", async (_name, edit, line, seq, problem) => {
    const trailing = !_name.startsWith("truncate") && _name !== "drop every record";
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

  it("without the head (--no-head) a cut at a line boundary goes unseen, and says so", async () => {
    expect(await verifyAuditLog(tampered((ls) => ls.slice(0, 7)), { head: null })).toEqual({ ok: true, records: 7, tail_unchecked: true });
  });

  it("a head edited, sealed with another key, or missing is reported", async () => {
    const edited = tampered((ls) => ls);
    writeFileSync(`${edited}.head`, JSON.stringify({ ...JSON.parse(readFileSync(`${edited}.head`, "utf8")), seq: 3 }));
    expect(await verifyAuditLog(edited)).toMatchObject({ ok: false, problem: expect.stringMatching(/head: .*mac mismatch/) });
    expect(await verifyAuditLog(tampered((ls) => ls), { key: join(tempDir(), "nope.key") }).catch((e: Error) => e.message)).toMatch(/does not exist/);
    const otherKey = join(tempDir(), "other.key");
    writeFileSync(otherKey, `${randomBytes(32).toString("hex")}\n`);
    expect(await verifyAuditLog(tampered((ls) => ls), { key: otherKey })).toMatchObject({ ok: false, problem: expect.stringMatching(/sealed with another key/) });
    const headless = tampered((ls) => ls);
    rmSync(`${headless}.head`);
    expect(await verifyAuditLog(headless)).toMatchObject({ ok: false, problem: expect.stringMatching(/head file .* is missing/) });
  });

  it("a keyed log without its key cannot be verified (an error, not ok)", async () => {
    const file = tampered((ls) => ls);
    rmSync(`${file}.key`);
    await expect(verifyAuditLog(file)).rejects.toThrow(/keyed record and the key was not found/);
  });

  it("a legacy unkeyed log still verifies without a key, and says what that cannot show", async () => {
    const file = join(tempDir(), "legacy.jsonl");
    let head = GENESIS_HEAD;
    const ls: string[] = [];
    for (let i = 1; i <= 5; i++) {
      const { record, line } = chainEntry(head, entry(i), null);
      head = { seq: record.seq, hash: record.hash! };
      ls.push(line);
    }
    writeFileSync(file, ls.join(""));
    expect(await verifyAuditLog(file)).toEqual({ ok: true, records: 5, legacy: 5, unkeyed: true });
    // Cut at a line boundary, a legacy log still verifies: the reason for the key and the head.
    writeFileSync(file, ls.slice(0, 3).join(""));
    expect(await verifyAuditLog(file)).toEqual({ ok: true, records: 3, legacy: 3, unkeyed: true });
  });

  it("accepts an empty new log and rejects a missing one", async () => {
    const dir = tempDir();
    const log = await openAuditLog(join(dir, "empty.jsonl"), { log: () => {} });
    await log.close();
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
