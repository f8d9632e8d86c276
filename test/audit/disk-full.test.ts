import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { recordCall, recordIntent } from "../../src/audit/call-audit.js";
import { openAuditLog } from "../../src/audit/file-log.js";
import type { ChainedAuditSink } from "../../src/audit/types.js";
import { verifyAuditLog } from "../../src/audit/verify.js";
import { mountSmallDisk, type SmallDisk } from "../support/tmpfs.js";
import { entry, tempDir } from "./helpers.js";

/**
 * The log on a real, full disk (a 256 kB tmpfs): a record that does not fit is refused with
 * AuditWriteError, leaves no torn bytes behind (a write that failed halfway is cut back), an
 * intent that cannot be written refuses its call, and once space is back the chain continues and
 * verifies, head included.
 */
const disk = mountSmallDisk(join(tempDir(), "disk"));
const skip = "skip" in disk ? disk.skip : null;
if (skip) console.warn(`disk-full tests skipped: ${skip}`);

describe.skipIf(skip !== null)("audit log on a full disk", () => {
  const d = disk as SmallDisk;
  let file: string;
  let log: ChainedAuditSink;

  beforeAll(async () => {
    file = join(d.dir, "audit.jsonl");
    log = await openAuditLog(file, { log: () => {} });
    for (let i = 1; i <= 5; i++) await log.record(entry(i));
  });
  afterAll(async () => {
    await log?.close();
    d.unmount();
  });

  it("refuses records it cannot write, never leaves half of one, and continues once space is back", async () => {
    d.fill();
    // The log's last page may still take a record or two (then the head cannot be replaced: refused,
    // `written`); record until one does not fit at all. Its write fails partway through, at the page
    // boundary, and is cut back.
    let refused: { written?: boolean } | null = null;
    for (let i = 0; i < 64 && refused?.written !== false; i++) {
      const before = statSync(file).size;
      const seq = log.head().seq;
      try {
        await log.record(entry(100 + i, { args: { path: `/r/${"p".repeat(200)}` } }));
      } catch (err) {
        refused = err as { written: boolean };
        expect(err).toMatchObject({ name: "AuditWriteError", message: expect.stringMatching(/ENOSPC/) });
        if (refused.written === false) {
          // Not written: the log is exactly as long as before and its chain did not move on.
          expect(statSync(file).size).toBe(before);
          expect(log.head().seq).toBe(seq);
        }
      }
    }
    expect(refused?.written).toBe(false);

    // An intent that cannot be written refuses the call.
    const intent = await recordIntent(log, { tool: "write_file", args: { path: "/r/x" } });
    expect(intent).toMatchObject({ ok: false, rule: "audit.unavailable", reason: expect.stringMatching(/ENOSPC/) });
    expect(await recordCall(log, entry(7))).toMatchObject({ ok: false, rule: "audit.unavailable" });

    d.free();
    const open = await recordIntent(log, { tool: "write_file", args: { path: "/r/y" } });
    expect(open.ok).toBe(true);
    if (open.ok) expect(await open.finish({ decision: "allow", rule: "allow", duration_ms: 1 })).toEqual({ ok: true });
    const result = await verifyAuditLog(file);
    expect(result.ok).toBe(true);
    // The head is current again.
    expect(JSON.parse(readFileSync(`${file}.head`, "utf8")).seq).toBe(log.head().seq);
  });
});
