import { spawnSync } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CLI } from "../support/warden-client.js";
import { makeTempDir, removeDir, writeTree } from "../support/tree.js";

/** `printf '...' | warden serve`: the client's input ends right after its last request. */
let dir: string;
beforeAll(() => {
  dir = makeTempDir("warden-stdio-eof-");
  writeTree(dir, { "note.txt": "the last reply arrives\n" });
});
afterAll(() => removeDir(dir));

const line = (message: object) => `${JSON.stringify({ jsonrpc: "2.0", ...message })}\n`;

function pipeInto(requests: string): { status: number | null; replies: { id?: number; result?: unknown; error?: unknown }[]; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, "serve", "--root", dir], { input: requests, encoding: "utf8", timeout: 60_000 });
  const replies = r.stdout
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { id?: number; result?: unknown; error?: unknown });
  return { status: r.status, replies, stderr: r.stderr };
}

describe("warden serve over stdio when the input ends", () => {
  it("answers the requests still in flight, then exits 0", () => {
    const input =
      line({ id: 1, method: "initialize", params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "printf", version: "1" } } }) +
      line({ method: "notifications/initialized" }) +
      line({ id: 2, method: "tools/call", params: { name: "read_file", arguments: { path: "note.txt" } } }) +
      line({ id: 3, method: "tools/call", params: { name: "list_directory", arguments: { path: "." } } });
    const r = pipeInto(input);
    expect(r.status, r.stderr).toBe(0);
    expect(r.replies.map((m) => m.id).sort(), r.stderr).toEqual([1, 2, 3]);
    expect(JSON.stringify(r.replies.find((m) => m.id === 2))).toContain("the last reply arrives");
    expect(JSON.stringify(r.replies.find((m) => m.id === 3))).toContain("note.txt");
  });

  it("exits at once when nothing is in flight", () => {
    const started = Date.now();
    const r = pipeInto("");
    expect(r.status, r.stderr).toBe(0);
    expect(r.replies).toEqual([]);
    expect(Date.now() - started).toBeLessThan(15_000);
  });
});
