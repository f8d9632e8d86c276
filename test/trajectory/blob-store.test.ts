import { readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { redactArgs } from "../../src/audit/redact.js";
import { BlobStore } from "../../src/trajectory/blob-store.js";
import { makeTempDir, removeDir } from "../support/tree.js";

let dir: string;
beforeAll(() => {
  dir = makeTempDir("warden-blobs-");
});
afterAll(() => removeDir(dir));

describe("BlobStore", () => {
  it("gives back exactly the contents the audit log reduced to a digest", () => {
    const store = new BlobStore(join(dir, "a"));
    const args = { path: "x.txt", content: "héllo\n", edits: [{ old_text: "a", new_text: "b" }] };
    store.keep(args);
    expect(readdirSync(join(dir, "a"))).toHaveLength(3); // content, old_text, new_text
    const logged = redactArgs(args, []);
    expect(JSON.stringify(logged)).not.toContain("héllo");
    expect(store.restore(logged)).toEqual({ ok: true, args });
  });

  it.each([
    ["a missing blob", (_d: string) => undefined, { path: "y", content: "never kept" }, /was not kept/],
    ["a blob whose bytes do not hash to its name", (d: string) => {
      for (const f of readdirSync(d)) writeFileSync(join(d, f), "forged");
    }, { path: "z", content: "kept, then forged" }, /does not match its digest/],
    ["a redacted value", (_d: string) => undefined, { path: "w", api_token: "abc" }, /redacted/],
  ])("refuses %s, saying why", (_what, spoil, args, why) => {
    const store = new BlobStore(join(dir, `b-${args.path}`));
    if (args.path === "z") store.keep(args);
    spoil(join(dir, `b-${args.path}`));
    const r = store.restore(redactArgs(args, ["*token*"]));
    expect(r.ok).toBe(false);
    expect(!r.ok && r.why).toMatch(why);
  });
});
