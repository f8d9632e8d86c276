import { readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadPolicyFile, parsePolicy, PolicyError } from "../../src/config/load-policy.js";
import { makeTempDir } from "../support/tree.js";

const POLICIES = join(import.meta.dirname, "../../policies");

describe("policy loading", () => {
  it.each(readdirSync(POLICIES).filter((f) => f.endsWith(".json") && f !== "policy.schema.json"))("shipped policy %s validates", (f) => {
    expect(() => loadPolicyFile(join(POLICIES, f), { HOME: "/home/user", WARDEN_ROOT: "/tmp" })).not.toThrow();
  });

  it("an empty policy is valid, hides secrets and allows no command", () => {
    const p = parsePolicy({});
    expect(p.filesystem.deny).toContain("**/.env");
    expect(p.commands.allow).toEqual([]);
    expect(p.execution.confinement).toBe("bubblewrap");
  });

  it.each([
    [{ filesystem: { roots: [{ path: "/x", access: "rw" }] } }, "filesystem.roots[0].access"],
    [{ filesystem: { max_read_bytes: "big" } }, "filesystem.max_read_bytes"],
    [{ filesystem: { unknown_key: 1 } }, "filesystem"],
    [{ execution: { backend: "kubernetes" } }, "execution.backend"],
    [{ execution: { timeout_s: -1 } }, "execution.timeout_s"],
    [{ commands: { allow: [{ program: "" }] } }, "commands.allow[0].program"],
    [{ audit: { file: 3 } }, "audit.file"],
    [{ nonsense: true }, "(root)"],
  ])("errors name the field: %j", (raw, field) => {
    expect(() => parsePolicy(raw)).toThrow(PolicyError);
    try {
      parsePolicy(raw);
    } catch (err) {
      expect((err as Error).message).toContain(field);
    }
  });

  it("expands ${VAR} and ${VAR:-default}, and names an unset variable", () => {
    const p = parsePolicy({ filesystem: { roots: [{ path: "${PROJ}/src" }, { path: "${NOPE:-/srv}" }] } }, "t", { PROJ: "/home/me/p" });
    expect(p.filesystem.roots.map((r) => r.path)).toEqual(["/home/me/p/src", "/srv"]);
    expect(() => parsePolicy({ filesystem: { roots: [{ path: "${MISSING}" }] } }, "t", {})).toThrow(/filesystem\.roots\[0\]\.path: environment variable MISSING/);
  });

  it("reports unreadable and malformed files with the file name", () => {
    const dir = makeTempDir();
    writeFileSync(join(dir, "bad.json"), "{ not json");
    expect(() => loadPolicyFile(join(dir, "bad.json"))).toThrow(/bad\.json: not valid JSON/);
    expect(() => loadPolicyFile(join(dir, "missing.json"))).toThrow(/missing\.json: cannot read: ENOENT/);
  });
});
