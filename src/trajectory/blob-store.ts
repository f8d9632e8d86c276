import { createHash } from "node:crypto";
import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { writeFileAtomic } from "../audit/atomic-file.js";
import { DEFAULT_CONTENT_KEYS } from "../audit/redact.js";

/** How the audit log spells a content it did not keep (audit/redact.ts). */
const CONTENT_MARK = /^\[CONTENT: (\d+) bytes, sha256:([0-9a-f]{64})\]$/;

/**
 * Contents written in overlay mode (write_file's content, edit_file's texts), kept by sha256 in the
 * state dir so `warden trajectory replay` can send them again. The audit log keeps only their length
 * and sha256, and that MAC-sealed digest is what authenticates a blob: a blob whose bytes do not hash
 * to the name the record gives is refused. The state dir already holds every workspace's writes,
 * so these are no more exposed than the workspace itself.
 */
export class BlobStore {
  private readonly contentKeys = new Set(DEFAULT_CONTENT_KEYS.map((k) => k.toLowerCase()));
  constructor(readonly dir: string) {}

  /** Keeps every content value of a call's arguments (the same keys the audit log reduces to a digest). */
  keep(args: Record<string, unknown>): void {
    for (const text of this.contents(args)) {
      const bytes = Buffer.from(text, "utf8");
      mkdirSync(this.dir, { recursive: true, mode: 0o700 });
      writeFileAtomic(join(this.dir, sha256(bytes)), bytes, false);
    }
  }

  /**
   * The arguments with every content mark replaced by its blob, or the reason one cannot be: a value
   * the log redacted, a blob missing or not matching its digest.
   */
  restore(args: Record<string, unknown>): { ok: true; args: Record<string, unknown> } | { ok: false; why: string } {
    let why: string | null = null;
    const walk = (value: unknown): unknown => {
      if (typeof value === "string") {
        const mark = CONTENT_MARK.exec(value);
        if (!mark) {
          if (value.includes("[REDACTED]") || /…\[TRUNCATED: \d+ chars\]$/.test(value)) why ??= "an argument was redacted or cut in the audit log";
          return value;
        }
        const [, size, digest] = mark;
        let bytes: Buffer;
        try {
          bytes = readFileSync(join(this.dir, digest!));
        } catch {
          why ??= `its content (sha256:${digest!.slice(0, 12)}…) was not kept (the session did not run in overlay mode)`;
          return value;
        }
        if (sha256(bytes) !== digest || bytes.length !== Number(size)) why ??= `the kept content sha256:${digest!.slice(0, 12)}… does not match its digest`;
        return bytes.toString("utf8");
      }
      if (Array.isArray(value)) return value.map(walk);
      if (value && typeof value === "object") return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, walk(v)]));
      return value;
    };
    const restored = walk(args) as Record<string, unknown>;
    return why ? { ok: false, why } : { ok: true, args: restored };
  }

  private *contents(value: unknown, key = ""): Generator<string> {
    if (typeof value === "string") {
      if (this.contentKeys.has(key.toLowerCase())) yield value;
      return;
    }
    if (Array.isArray(value)) for (const v of value) yield* this.contents(v, key);
    else if (value && typeof value === "object") for (const [k, v] of Object.entries(value)) yield* this.contents(v, k);
  }
}

function sha256(bytes: Buffer): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/** Where a state dir keeps its blobs. */
export function blobDir(stateDir: string): string {
  return join(stateDir, "blobs");
}
