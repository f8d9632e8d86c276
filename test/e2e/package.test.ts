import { execFile } from "node:child_process";
import { cpSync, mkdirSync, readFileSync, utimesSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeTempDir, removeDir } from "../support/tree.js";
import { REPO, requireBuild } from "./support/warden-process.js";

/** What `npm pack` ships, and that it works in a clone where `npm ci` never ran. */
const run = promisify(execFile);
const npm = (args: string[], cwd: string) =>
  run("npm", args, { cwd, timeout: 120_000 }).then(
    (r) => ({ code: 0, out: r.stdout + r.stderr }),
    (err: { code?: number; stdout?: string; stderr?: string }) => ({ code: typeof err.code === "number" ? err.code : -1, out: `${err.stdout}${err.stderr}` }),
  );

describe("the npm package", () => {
  it("ships a LICENSE (MIT, as package.json says) and no source map pointing at unshipped sources", async () => {
    const r = await npm(["pack", "--dry-run", "--json", "--ignore-scripts"], REPO);
    expect(r.code, r.out).toBe(0);
    const files = (JSON.parse(r.out.slice(r.out.indexOf("["))) as { files: { path: string }[] }[])[0]!.files.map((f) => f.path);
    expect(files).toContain("LICENSE");
    expect(files).toContain("dist/cli/main.js");
    expect(files.filter((f) => f.endsWith(".map"))).toEqual([]);
    expect(JSON.parse(readFileSync(join(REPO, "package.json"), "utf8")).license).toBe("MIT");
    expect(readFileSync(join(REPO, "LICENSE"), "utf8")).toMatch(/^MIT License\n\nCopyright \(c\) 2026 The mcp-warden authors\n/);
  });

  describe("npm pack in a clone without node_modules (TypeScript absent)", () => {
    let clone: string;
    beforeAll(() => {
      requireBuild();
      clone = makeTempDir("warden-pack-");
      for (const f of ["package.json", "LICENSE", "README.md", "scripts", "src"]) cpSync(join(REPO, f), join(clone, f), { recursive: true });
    });
    afterAll(() => removeDir(clone));

    it("without dist/: fails, saying what to run", async () => {
      const r = await npm(["pack", "--dry-run"], clone);
      expect(r.code, r.out).not.toBe(0);
      expect(r.out).toContain("dist/ is missing and cannot be built: TypeScript is not installed");
      expect(r.out).toContain("npm ci");
      expect(r.out).not.toContain("tsc: not found");
    });

    it("with a built dist/: packs it as it is", async () => {
      mkdirSync(join(clone, "dist"));
      cpSync(join(REPO, "dist"), join(clone, "dist"), { recursive: true });
      const r = await npm(["pack", "--dry-run"], clone);
      expect(r.code, r.out).toBe(0);
      expect(r.out).toContain("dist/cli/main.js");
    });

    it("with src/ newer than dist/: packs, with a warning that says how to rebuild", async () => {
      const later = new Date(Date.now() + 60_000);
      utimesSync(join(clone, "src", "cli", "main.ts"), later, later);
      const r = await npm(["pack", "--dry-run"], clone);
      expect(r.code, r.out).toBe(0);
      expect(r.out).toContain("WARNING: src/ is newer than dist/");
    });
  });
});
