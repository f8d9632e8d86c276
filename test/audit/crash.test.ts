import { spawn } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import ts from "typescript";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { parseRecordLine } from "../../src/audit/chain.js";
import { openAuditLog } from "../../src/audit/file-log.js";
import { readKeyFile } from "../../src/audit/key.js";
import { verifyAuditLog } from "../../src/audit/verify.js";
import { tempDir } from "./helpers.js";

const SRC = resolve(__dirname, "../../src/audit");
const RECORDER = resolve(__dirname, "fixtures/recorder.mjs");
let moduleDir: string;
const running = new Set<ReturnType<typeof spawn>>();

// A test that fails or times out must not leave a recorder writing forever.
afterEach(() => {
  for (const child of running) child.kill("SIGKILL");
  running.clear();
});

beforeAll(() => {
  // The child is plain Node: give it the audit modules as JavaScript.
  moduleDir = join(tempDir(), "audit");
  mkdirSync(moduleDir);
  writeFileSync(join(moduleDir, "package.json"), '{"type":"module"}');
  for (const name of readdirSync(SRC).filter((n) => n.endsWith(".ts"))) {
    const out = ts.transpileModule(readFileSync(join(SRC, name), "utf8"), {
      compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
    });
    writeFileSync(join(moduleDir, name.replace(/\.ts$/, ".js")), out.outputText);
  }
});

/**
 * Runs the recorder until it acknowledged `atLeast` records, then SIGKILLs it: after a random
 * moment, or (midWrite) as soon as the file starts growing again, that is inside the next write.
 */
function recordThenKill(file: string, payload: number, atLeast: number, midWrite = false): Promise<{ acked: number; stderr: string }> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [RECORDER, moduleDir, file, String(payload)], { stdio: ["ignore", "pipe", "pipe"] });
    running.add(child);
    let acked = 0;
    let first = 0;
    let buffered = "";
    let stderr = "";
    let killing = false;
    child.stderr.on("data", (d) => (stderr += d));
    child.stdout.on("data", (d: Buffer) => {
      buffered += d.toString();
      const parts = buffered.split("\n");
      buffered = parts.pop()!;
      for (const p of parts) acked = Math.max(acked, Number(p));
      first ||= acked;
      if (acked - first + 1 >= atLeast && !killing) {
        killing = true;
        if (!midWrite) setTimeout(() => child.kill("SIGKILL"), Math.floor(Math.random() * 15));
        else {
          const base = statSync(file).size;
          const poll = () => (statSync(file).size > base ? child.kill("SIGKILL") : setImmediate(poll));
          poll();
        }
      }
    });
    child.on("error", fail);
    child.on("exit", (_code, signal) => {
      running.delete(child);
      if (signal !== "SIGKILL") fail(new Error(`recorder exited on its own: ${stderr}`));
      else done({ acked, stderr });
    });
  });
}

/** Every complete line must be a chained record; returns their seqs and whether a torn line ends the file. */
function completeRecords(file: string): { seqs: number[]; torn: boolean } {
  const key = readKeyFile(`${file}.key`);
  const text = readFileSync(file, "utf8");
  const parts = text.split("\n");
  const torn = parts.pop() !== "";
  const seqs: number[] = [];
  let prevHash: string | null = null;
  for (const line of parts) {
    const parsed = parseRecordLine(line, key);
    if (!parsed.ok) continue; // a torn line already recovered; verify judges those
    if (parsed.record.tool !== "audit.recovery" && prevHash !== null) expect(parsed.record.prev).toBe(prevHash);
    prevHash = parsed.record.mac!;
    seqs.push(parsed.record.seq);
  }
  return { seqs, torn };
}

describe("crash safety: kill -9 of a process that records in a tight loop", () => {
  it("loses no acknowledged record, and every complete line is chained", async () => {
    const file = join(tempDir(), "audit.jsonl");
    for (let round = 0; round < 6; round++) {
      const { acked } = await recordThenKill(file, round % 2 ? 4000 : 200, 50);
      const { seqs, torn } = completeRecords(file);
      expect(seqs[seqs.length - 1]).toBeGreaterThanOrEqual(acked);
      expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => i + 1));
      // Small records are practically never cut (a write stops only between pages); if one is,
      // verify names it and the next recorder's open appends the recovery record.
      if (torn) expect(await verifyAuditLog(file)).toMatchObject({ ok: false, records: seqs.length, problem: expect.stringMatching(/^torn tail/) });
      else expect(await verifyAuditLog(file)).toEqual({ ok: true, records: seqs.length });
    }
  });

  it("a kill inside a big write tears it; verify names the torn line, reopening recovers it", async () => {
    // Linux stops a regular-file write between pages on SIGKILL, so a multi-megabyte record can
    // be cut. Kill 8 MB writers the moment the file grows (inside a write) until one tears.
    let kills = 0;
    let tears = 0;
    while (kills < 12 && tears === 0) {
      const file = join(tempDir(), "big.jsonl");
      const { acked } = await recordThenKill(file, 8 * 1024 * 1024, 1, true);
      kills++;
      const { seqs, torn } = completeRecords(file);
      expect(seqs[seqs.length - 1]).toBeGreaterThanOrEqual(acked);
      const result = await verifyAuditLog(file);
      if (!torn) {
        expect(result).toEqual({ ok: true, records: seqs.length });
        continue;
      }
      tears++;
      // The torn line is reported on its own line number, after every complete record verified.
      expect(result).toMatchObject({ ok: false, line: seqs.length + 1, records: seqs.length, problem: expect.stringMatching(/^torn tail/) });
      const log = await openAuditLog(file, { log: () => {} });
      await log.close();
      expect(await verifyAuditLog(file)).toEqual({ ok: true, records: seqs.length + 1 });
    }
    expect(tears).toBeGreaterThan(0);
    console.log(`crash test: ${kills} kill(s) of 8 MB writers mid-write, ${tears} torn`);
  });

  it("a torn tail made by hand mid-write is recovered the same way", async () => {
    const file = join(tempDir(), "audit.jsonl");
    await recordThenKill(file, 100, 20);
    const text = readFileSync(file, "utf8");
    writeFileSync(file, text + text.split("\n")[0]!.slice(0, 33));
    const torn = await verifyAuditLog(file);
    expect(torn).toMatchObject({ ok: false, problem: expect.stringMatching(/^torn tail/) });
    await recordThenKill(file, 100, 10);
    const final = await verifyAuditLog(file);
    expect(final.ok).toBe(true);
    if (final.ok && !torn.ok) expect(final.records).toBeGreaterThan(torn.records + 10);
  });
});
