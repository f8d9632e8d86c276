import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll } from "vitest";
import type { AuditEntry } from "../../src/audit/types.js";

const made: string[] = [];

// Registered in each test file that imports this module (vitest isolates modules per file).
afterAll(() => {
  for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
});

export function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "warden-audit-"));
  made.push(dir);
  return dir;
}

export function entry(i: number, extra: Partial<AuditEntry> = {}): AuditEntry {
  return {
    time: new Date(Date.UTC(2026, 0, 1, 0, 0, i % 60)).toISOString(),
    tool: i % 2 ? "read_file" : "execute_command",
    args: i % 2 ? { path: `/r/file-${i}.txt` } : { command: `echo ${i}` },
    decision: i % 3 === 0 ? "deny" : "allow",
    rule: i % 3 === 0 ? "commands.deny" : "allow",
    exit_code: i % 2 ? undefined : 0,
    duration_ms: i,
    ...extra,
  };
}

export function lines(path: string): string[] {
  return readFileSync(path, "utf8").split("\n").filter((l, i, all) => i < all.length - 1 || l !== "");
}

export function writeLines(path: string, ls: string[], trailingNewline = true): void {
  writeFileSync(path, ls.join("\n") + (trailingNewline && ls.length ? "\n" : ""));
}
