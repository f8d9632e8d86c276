import { appendFileSync, chmodSync, existsSync, linkSync, readFileSync, renameSync, statSync, symlinkSync, truncateSync, unlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { chainEntry, GENESIS_HASH, parseRecordLine, recordMac } from "../../src/audit/chain.js";
import { createMemoryAuditSink, createNullAuditSink, openAuditLog } from "../../src/audit/file-log.js";
import { readKeyFile } from "../../src/audit/key.js";
import { verifyAuditLog } from "../../src/audit/verify.js";
import { entry, lines, tempDir } from "./helpers.js";

const quiet = { log: () => {} };

describe("openAuditLog", () => {
  it("writes one chained JSONL record per call, starting from the genesis hash", async () => {
    const file = join(tempDir(), "audit.jsonl");
    const log = await openAuditLog(file, quiet);
    await log.record(entry(1));
    await log.record(entry(2));
    await log.close();
    const recs = lines(file).map((l) => JSON.parse(l));
    expect(recs).toHaveLength(2);
    expect(recs[0]).toMatchObject({ seq: 1, prev: GENESIS_HASH, tool: "read_file", args: { path: "/r/file-1.txt" } });
    expect(recs[1]).toMatchObject({ seq: 2, prev: recs[0].mac, exit_code: 0 });
    expect(recs[1].mac).toBe(recordMac(readKeyFile(`${file}.key`)!, recs[1]));
    expect(Object.keys(recs[0])[0]).toBe("seq");
    expect(Object.keys(recs[0]).slice(-2)).toEqual(["prev", "mac"]);
    for (const f of [file, `${file}.key`, `${file}.head`]) expect(statSync(f).mode & 0o777).toBe(0o600);
    expect(JSON.parse(readFileSync(`${file}.head`, "utf8"))).toMatchObject({ seq: 2, last: recs[1].mac, keyed_from: 1 });
    expect(await verifyAuditLog(file)).toEqual({ ok: true, records: 2 });
  });

  it("creates missing parent directories", async () => {
    const file = join(tempDir(), "a", "b", "audit.jsonl");
    const log = await openAuditLog(file, quiet);
    await log.record(entry(1));
    await log.close();
    expect(await verifyAuditLog(file)).toEqual({ ok: true, records: 1 });
  });

  it("continues the chain across reopen", async () => {
    const file = join(tempDir(), "audit.jsonl");
    for (let round = 0; round < 4; round++) {
      const log = await openAuditLog(file, quiet);
      for (let i = 0; i < 5; i++) await log.record(entry(round * 5 + i));
      expect(log.head().seq).toBe(round * 5 + 5);
      await log.close();
    }
    const recs = lines(file).map((l) => JSON.parse(l));
    expect(recs.map((r) => r.seq)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    for (let i = 1; i < recs.length; i++) expect(recs[i].prev).toBe(recs[i - 1].mac);
    expect(await verifyAuditLog(file)).toEqual({ ok: true, records: 20 });
  });

  it("reports its head so the last hash can be anchored elsewhere", async () => {
    const file = join(tempDir(), "audit.jsonl");
    const log = await openAuditLog(file, quiet);
    expect(log.head()).toEqual({ seq: 0, hash: GENESIS_HASH });
    await log.record(entry(1));
    expect(log.head()).toEqual({ seq: 1, hash: JSON.parse(lines(file)[0]!).mac });
    await log.close();
  });

  it("keeps the chain fields its own, whatever the entry carries", async () => {
    const file = join(tempDir(), "audit.jsonl");
    const log = await openAuditLog(file, quiet);
    await log.record({ ...entry(1), seq: 99, prev: "x", hash: "y" } as never);
    await log.close();
    expect(JSON.parse(lines(file)[0]!)).toMatchObject({ seq: 1, prev: GENESIS_HASH });
    expect((await verifyAuditLog(file)).ok).toBe(true);
  });

  it("stores odd but legal values so that they verify (unicode, lone surrogates, big numbers, nulls)", async () => {
    const file = join(tempDir(), "audit.jsonl");
    const log = await openAuditLog(file, quiet);
    await log.record(entry(1, { args: { s: "é\u2028\ud800 \u0000 \"q\" \\", n: 1e21, neg: -0, f: 0.1 + 0.2, z: null, nested: { b: 1, a: [1, { d: 2, c: 3 }] }, "10": 1, "2": 2 }, exit_code: null }));
    await log.close();
    expect(await verifyAuditLog(file)).toEqual({ ok: true, records: 1 });
  });

  it("serializes 1000 concurrent record() calls into one valid chain", async () => {
    const file = join(tempDir(), "audit.jsonl");
    const log = await openAuditLog(file, quiet);
    await Promise.all(Array.from({ length: 1000 }, (_, i) => log.record(entry(i))));
    await log.close();
    const recs = lines(file).map((l) => JSON.parse(l));
    expect(recs).toHaveLength(1000);
    expect(new Set(recs.map((r) => r.duration_ms)).size).toBe(1000);
    expect(await verifyAuditLog(file)).toEqual({ ok: true, records: 1000 });
  });

  it("follows another writer appending to the same file", async () => {
    const file = join(tempDir(), "audit.jsonl");
    const logs = [];
    const say: string[] = [];
    const a = await openAuditLog(file, { log: (m) => say.push(m) });
    const b = await openAuditLog(file, quiet);
    logs.push(a, b);
    for (let i = 0; i < 30; i++) await logs[i % 3 === 0 ? 1 : 0]!.record(entry(i));
    await a.close();
    await b.close();
    expect(await verifyAuditLog(file)).toEqual({ ok: true, records: 30 });
    expect(say.some((m) => m.includes("another writer"))).toBe(true);
  });

  it("a file cut or replaced under it stops it (copytruncate is a cut tail), and it will not reopen a cut file", async () => {
    const file = join(tempDir(), "audit.jsonl");
    const said: string[] = [];
    const log = await openAuditLog(file, { log: (m) => said.push(m) });
    for (let i = 0; i < 3; i++) await log.record(entry(i));
    truncateSync(file, 0);
    await expect(log.record(entry(3))).rejects.toMatchObject({ name: "AuditWriteError", written: false, message: expect.stringMatching(/shrank under the server/) });
    await expect(log.record(entry(4))).rejects.toThrow(/shrank under the server/);
    expect(said.join("\n")).toMatch(/refused until the server restarts/);
    await log.close();
    expect(readFileSync(file, "utf8")).toBe("");
    await expect(openAuditLog(file, quiet)).rejects.toThrow(/ends at seq 0, but its head .* says it reached seq 3/);
    expect(await verifyAuditLog(file)).toMatchObject({ ok: false, problem: expect.stringMatching(/^cut tail/) });

    const other = join(tempDir(), "audit.jsonl");
    const again = await openAuditLog(other, quiet);
    await again.record(entry(1));
    renameSync(other, `${other}.1`);
    await expect(again.record(entry(2))).rejects.toThrow(/removed or replaced under the server/);
    await again.close();
  });

  it("refuses records after close", async () => {
    const log = await openAuditLog(join(tempDir(), "audit.jsonl"), quiet);
    await log.close();
    await log.close();
    await expect(log.record(entry(1))).rejects.toThrow(/closed/);
  });

  it("refuses to continue a log whose last complete record is not valid", async () => {
    const file = join(tempDir(), "audit.jsonl");
    const log = await openAuditLog(file, quiet);
    for (let i = 0; i < 3; i++) await log.record(entry(i));
    await log.close();
    const ls = lines(file);
    const last = JSON.parse(ls[2]!);
    last.duration_ms += 1;
    ls[2] = JSON.stringify(last);
    writeFileSync(file, ls.join("\n") + "\n");
    await expect(openAuditLog(file, quiet)).rejects.toThrow(/last complete record .* invalid: mac mismatch.*warden audit verify/);
    appendFileSync(file, "not json\n");
    await expect(openAuditLog(file, quiet)).rejects.toThrow(/not a JSON record/);
    // Nothing was appended by the refused opens.
    expect(lines(file)).toHaveLength(4);
  });

  it("reads a last record longer than its first tail window", async () => {
    const file = join(tempDir(), "audit.jsonl");
    const log = await openAuditLog(file, quiet);
    await log.record(entry(1));
    await log.record(entry(2, { args: { big: "x".repeat(300_000) } }));
    await log.close();
    const again = await openAuditLog(file, quiet);
    await again.record(entry(3));
    await again.close();
    expect(await verifyAuditLog(file)).toEqual({ ok: true, records: 3 });
  });

  describe("torn tail (a write cut short)", () => {
    /** Four records, then the first bytes of a fifth, as a kill in the middle of its write leaves them (the head names record 4). */
    async function tornLog(keepBytesOfLast: number): Promise<{ file: string }> {
      const file = join(tempDir(), "audit.jsonl");
      const log = await openAuditLog(file, quiet);
      for (let i = 0; i < 4; i++) await log.record(entry(i));
      const head = log.head();
      await log.close();
      const fifth = chainEntry(head, entry(4), readKeyFile(`${file}.key`)!).line;
      appendFileSync(file, fifth.slice(0, keepBytesOfLast));
      return { file };
    }

    it("verify reports it on the torn line, with the records before it", async () => {
      const { file } = await tornLog(40);
      expect(await verifyAuditLog(file)).toMatchObject({ ok: false, line: 5, seq: 5, records: 4, problem: expect.stringMatching(/^torn tail/) });
    });

    it("a cut inside the record the head names is a cut tail: verify says torn, and the log will not reopen", async () => {
      const file = join(tempDir(), "audit.jsonl");
      const log = await openAuditLog(file, quiet);
      for (let i = 0; i < 5; i++) await log.record(entry(i));
      await log.close();
      truncateSync(file, statSync(file).size - 30);
      expect(await verifyAuditLog(file)).toMatchObject({ ok: false, line: 5, records: 4, problem: expect.stringMatching(/^torn tail/) });
      await expect(openAuditLog(file, quiet)).rejects.toThrow(/ends at seq 4, but its head .* says it reached seq 5/);
    });

    it("a record complete but for its newline is still a torn tail", async () => {
      const file = join(tempDir(), "audit.jsonl");
      const log = await openAuditLog(file, quiet);
      await log.record(entry(1));
      await log.close();
      truncateSync(file, statSync(file).size - 1);
      expect(await verifyAuditLog(file)).toMatchObject({ ok: false, line: 1, records: 0, problem: expect.stringMatching(/^torn tail/) });
    });

    it("reopening keeps the torn bytes, ends their line and appends a recovery record; the log verifies", async () => {
      const { file } = await tornLog(40);
      const before = readFileSync(file);
      const said: string[] = [];
      const log = await openAuditLog(file, { log: (m) => said.push(m), now: () => new Date("2026-02-02T00:00:00Z") });
      await log.record(entry(99));
      await log.close();
      expect(said.join("\n")).toMatch(/torn \(40 bytes at byte \d+/);
      const after = readFileSync(file);
      expect(after.subarray(0, before.length).equals(before)).toBe(true);
      const ls = lines(file);
      expect(ls).toHaveLength(7);
      const recovery = JSON.parse(ls[5]!);
      expect(recovery).toMatchObject({
        seq: 5,
        tool: "audit.recovery",
        rule: "audit.torn_tail",
        decision: "error",
        time: "2026-02-02T00:00:00.000Z",
        args: { torn_offset: before.length - 40, torn_bytes: 40 },
        prev: JSON.parse(ls[3]!).mac,
      });
      expect(JSON.parse(ls[6]!)).toMatchObject({ seq: 6, prev: recovery.mac });
      expect(await verifyAuditLog(file)).toEqual({ ok: true, records: 6 });
    });

    it("a torn first record recovers from the genesis hash", async () => {
      const file = join(tempDir(), "audit.jsonl");
      writeFileSync(file, '{"seq":1,"ti');
      const log = await openAuditLog(file, quiet);
      await log.close();
      expect(JSON.parse(lines(file)[1]!)).toMatchObject({ seq: 1, prev: GENESIS_HASH, tool: "audit.recovery", args: { torn_offset: 0, torn_bytes: 12 } });
      expect(await verifyAuditLog(file)).toEqual({ ok: true, records: 1 });
    });

    it("removing the torn line a recovery record names is detected", async () => {
      const { file } = await tornLog(40);
      const log = await openAuditLog(file, quiet);
      await log.record(entry(7));
      await log.close();
      const ls = lines(file);
      ls.splice(4, 1);
      writeFileSync(file, ls.join("\n") + "\n");
      expect(await verifyAuditLog(file)).toMatchObject({ ok: false, line: 5, seq: 5, problem: expect.stringMatching(/^recovery record without the torn line/) });
    });

    it("a recovery record excuses only the exact torn bytes it names", async () => {
      const { file } = await tornLog(40);
      const log = await openAuditLog(file, quiet);
      await log.close();
      const ls = lines(file);
      // Change the torn line (same length): the recovery record no longer matches it.
      ls[4] = ls[4]!.replace(/^.{3}/, "XYZ");
      writeFileSync(file, ls.join("\n") + "\n");
      expect(await verifyAuditLog(file)).toMatchObject({ ok: false, line: 5, problem: "not a JSON record" });
    });
  });
});

describe("memory and null sinks", () => {
  it("the memory sink chains exactly like the file log", async () => {
    const file = join(tempDir(), "audit.jsonl");
    const log = await openAuditLog(file, quiet);
    const mem = createMemoryAuditSink({ key: readKeyFile(`${file}.key`)! });
    for (let i = 0; i < 10; i++) {
      await mem.record(entry(i));
      await log.record(entry(i));
    }
    await log.close();
    expect(mem.text()).toBe(readFileSync(file, "utf8"));
    expect(mem.records.map((r) => r.seq)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(mem.head().hash).toBe(mem.records[9]!.mac);
    for (const line of mem.text().trimEnd().split("\n")) expect(parseRecordLine(line, mem.key).ok).toBe(true);
    await mem.close();
    await expect(mem.record(entry(1))).rejects.toThrow();
  });

  it("the null sink accepts and drops", async () => {
    const sink = createNullAuditSink();
    await sink.record(entry(1));
    await sink.close();
  });
});

describe("key and head", () => {
  let otherKeyLog = "";
  async function logWith(n: number): Promise<string> {
    const file = join(tempDir(), "audit.jsonl");
    const log = await openAuditLog(file, quiet);
    for (let i = 1; i <= n; i++) await log.record(entry(i));
    await log.close();
    return file;
  }

  it("creates the key once (0600) and keeps it across reopen", async () => {
    const file = await logWith(1);
    const key = readFileSync(`${file}.key`, "utf8");
    expect(key).toMatch(/^[0-9a-f]{64}\n$/);
    const again = await openAuditLog(file, quiet);
    await again.record(entry(2));
    await again.close();
    expect(readFileSync(`${file}.key`, "utf8")).toBe(key);
    expect(await verifyAuditLog(file)).toEqual({ ok: true, records: 2 });
  });

  it("puts key and head where told", async () => {
    const dir = tempDir();
    const file = join(dir, "logs", "audit.jsonl");
    const log = await openAuditLog(file, { ...quiet, keyFile: join(dir, "keys", "k"), headFile: join(dir, "heads", "h") });
    await log.record(entry(1));
    await log.close();
    expect(existsSync(`${file}.key`) || existsSync(`${file}.head`)).toBe(false);
    expect(await verifyAuditLog(file, { key: join(dir, "keys", "k"), head: join(dir, "heads", "h") })).toEqual({ ok: true, records: 1 });
  });

  it.each([
    ["the log is a symlink", (f: string) => (renameSync(f, `${f}.real`), symlinkSync(`${f}.real`, f)), /ELOOP|symbolic link/],
    ["the log has a second hard link", (f: string) => linkSync(f, `${f}.link`), /2 hard links/],
    ["the key is readable by others", (f: string) => chmodSync(`${f}.key`, 0o644), /readable by others/],
    ["the key is a symlink", (f: string) => (renameSync(`${f}.key`, `${f}.k2`), symlinkSync(`${f}.k2`, `${f}.key`)), /symbolic link/],
    ["the key is missing but the head exists", (f: string) => unlinkSync(`${f}.key`), /key .* is missing but its head .* exists/],
    ["the key is missing and the log is keyed", (f: string) => (unlinkSync(`${f}.key`), unlinkSync(`${f}.head`)), /is keyed but its key .* is missing/],
    ["the head is missing", (f: string) => unlinkSync(`${f}.head`), /head file .* is missing/],
    ["the head was sealed with another key", (f: string) => writeFileSync(`${f}.head`, readFileSync(`${f}.head`, "utf8").replace(/"key_id":"[0-9a-f]+"/, '"key_id":"0000000000000000"')), /another key/],
    ["the head was edited", (f: string) => writeFileSync(`${f}.head`, readFileSync(`${f}.head`, "utf8").replace('"seq":3', '"seq":2')), /head was edited/],
    ["the last record was removed", (f: string) => writeFileSync(f, lines(f).slice(0, 2).join("\n") + "\n"), /ends at seq 2, but its head .* says it reached seq 3/],
    ["the log was replaced by one chained under another key", (f: string) => writeFileSync(f, otherKeyLog), /last complete record .* invalid: mac mismatch/],
    ["the log was emptied", (f: string) => writeFileSync(f, ""), /ends at seq 0, but its head .* says it reached seq 3/],
    ["the log was deleted", (f: string) => unlinkSync(f), /ends at seq 0, but its head .* says it reached seq 3/],
  ])("refuses to open when %s", async (_name, damage, message) => {
    const file = await logWith(3);
    const other = createMemoryAuditSink();
    for (let i = 1; i <= 3; i++) await other.record(entry(i));
    otherKeyLog = other.text();
    damage(file);
    await expect(openAuditLog(file, quiet)).rejects.toThrow(message);
  });

  it("refuses to open a log replaced by another one of the same length sealed with the same key", async () => {
    const dir = tempDir();
    const [a, b] = [join(dir, "a.jsonl"), join(dir, "b.jsonl")];
    for (const [file, tool] of [[a, "read_file"], [b, "write_file"]] as const) {
      const log = await openAuditLog(file, { ...quiet, keyFile: join(dir, "shared.key") });
      for (let i = 1; i <= 3; i++) await log.record(entry(i, { tool }));
      await log.close();
    }
    renameSync(b, a);
    await expect(openAuditLog(a, { ...quiet, keyFile: join(dir, "shared.key") })).rejects.toThrow(/not the ones its head .* names: the log was replaced/);
    expect(await verifyAuditLog(a, { key: join(dir, "shared.key") })).toMatchObject({ ok: false, line: 3, problem: expect.stringMatching(/not the record the head names/) });
  });

  it("continues an unkeyed (legacy) log with keyed records; verify counts the legacy ones", async () => {
    const file = join(tempDir(), "audit.jsonl");
    let head = { seq: 0, hash: GENESIS_HASH };
    for (let i = 1; i <= 3; i++) {
      const { record, line } = chainEntry(head, entry(i), null);
      appendFileSync(file, line);
      head = { seq: record.seq, hash: record.hash! };
    }
    const said: string[] = [];
    const log = await openAuditLog(file, { log: (m) => said.push(m) });
    await log.record(entry(4));
    await log.close();
    expect(said.join("\n")).toMatch(/continuing an unkeyed \(legacy\) log with keyed records from seq 4/);
    expect(JSON.parse(lines(file)[3]!)).toMatchObject({ seq: 4, prev: head.hash });
    expect(JSON.parse(readFileSync(`${file}.head`, "utf8"))).toMatchObject({ seq: 4, keyed_from: 4 });
    expect(await verifyAuditLog(file)).toEqual({ ok: true, records: 4, legacy: 3 });
    // An unkeyed record where the head says the log is keyed is a forgery.
    const forged = chainEntry({ seq: 3, hash: head.hash }, entry(9), null).line;
    writeFileSync(file, lines(file).slice(0, 3).join("\n") + "\n" + forged);
    expect(await verifyAuditLog(file)).toMatchObject({ ok: false, line: 4, problem: expect.stringMatching(/keyed from seq 4/) });
  });
});
