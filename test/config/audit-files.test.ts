import { mkdirSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { exposedAuditFile, exposedStateDir, resolveAuditFiles, SANDBOX_SYSTEM_DIRS } from "../../src/config/audit-files.js";
import { parsePolicy } from "../../src/config/load-policy.js";
import { readHostLayout } from "../../src/exec/native/host-layout.js";
import { makeTempDir, removeDir } from "../support/tree.js";

const files = (log: string, key = `${log}.key`, head = `${log}.head`) => ({ log, key, head });
const rw = (path: string) => ({ path, writable: true });
const ro = (path: string) => ({ path, writable: false });

describe("exposedStateDir: no session can reach the workspaces' layers", () => {
  it.each([
    ["the default, under HOME", "/home/me/.local/state/mcp-warden", [rw("/home/me/proj")], null],
    ["inside a read-only root", "/srv/ref/state", [rw("/srv/p"), ro("/srv/ref")], /the state dir \/srv\/ref\/state lies inside the read-only root \/srv\/ref: .*--state-dir a directory outside every root/],
    ["inside a read-write root", "/srv/p/.warden", [rw("/srv/p")], /lies inside the read-write root \/srv\/p/],
    ["under /opt, which every command sees read-only", "/opt/mcp-warden", [rw("/srv/p")], /the state dir \/opt\/mcp-warden lies inside \/opt, which every command sees read-only; give --state-dir a directory elsewhere/],
    ["under /etc", "/etc/mcp-warden", [], /inside \/etc/],
    ["/var/lib is not seen by commands", "/var/lib/mcp-warden", [rw("/srv/p")], null],
  ])("%s", (_name, dir, roots, expected) => {
    const got = exposedStateDir(dir, roots);
    if (expected === null) expect(got).toBeNull();
    else expect(got).toMatch(expected);
  });
});

describe("exposedAuditFile: no root and no system directory commands see may hold the log, its key or its head", () => {
  it.each([
    ["log outside every root", files("/var/log/w/audit.jsonl"), [rw("/srv/p"), ro("/srv/q")], null],
    ["log inside a read-write root", files("/srv/p/audit.jsonl"), [rw("/srv/p")], /audit log \/srv\/p\/audit\.jsonl lies inside the read-write root \/srv\/p/],
    ["log deep inside a read-only root", files("/srv/q/a/b/audit.jsonl"), [rw("/srv/p"), ro("/srv/q")], /lies inside the read-only root \/srv\/q/],
    ["a root that is / holds everything", files("/var/log/w/audit.jsonl"), [ro("/")], /inside the read-only root \/:/],
    ["a sibling with a common prefix is not inside", files("/srv/p-logs/audit.jsonl"), [rw("/srv/p")], null],
    ["a root below the log's directory does not reach it", files("/srv/audit.jsonl"), [rw("/srv/p")], null],
    ["the key inside a root", files("/var/log/w/a.jsonl", "/srv/p/.k"), [rw("/srv/p")], /audit key \/srv\/p\/\.k/],
    ["the head inside a root", files("/var/log/w/a.jsonl", "/var/log/w/a.key", "/srv/p/h"), [rw("/srv/p")], /audit head \/srv\/p\/h/],
    ["the log under /opt, bound read-only into every sandbox", files("/opt/w/audit.jsonl"), [], /inside \/opt, which every command sees read-only/],
    ["the key under /etc", files("/var/log/w/a.jsonl", "/etc/w.key"), [], /audit key \/etc\/w\.key lies inside \/etc/],
    ["/optional is not /opt", files("/optional/audit.jsonl"), [], null],
  ])("%s", (_name, f, roots, expected) => {
    const got = exposedAuditFile(f, roots);
    if (expected === null) expect(got).toBeNull();
    else expect(got).toMatch(expected);
  });

  it("no log, nothing to expose", () => {
    expect(exposedAuditFile(null, [rw("/")])).toBeNull();
  });

  it("knows every system directory the native sandbox binds on this host", () => {
    expect(readHostLayout().system.length).toBeGreaterThan(0);
    for (const entry of readHostLayout().system) expect(SANDBOX_SYSTEM_DIRS).toContain(entry.path);
  });
});

describe("resolveAuditFiles", () => {
  it("canonicalizes through symlinked parents, even below directories that do not exist yet", () => {
    const dir = makeTempDir("warden-af-");
    try {
      mkdirSync(join(dir, "real"));
      symlinkSync(join(dir, "real"), join(dir, "link"));
      const got = resolveAuditFiles({ auditLog: "link/new/sub/audit.jsonl", env: {}, policy: parsePolicy({}), cwd: dir });
      expect(got).toEqual(files(join(dir, "real/new/sub/audit.jsonl")));
    } finally {
      removeDir(dir);
    }
  });

  it("--audit-log beats WARDEN_AUDIT_LOG beats audit.file; key and head from env, policy, or beside the log", () => {
    const policy = parsePolicy({ audit: { file: "/var/log/p.jsonl", key_file: "/keys/p.key" } });
    expect(resolveAuditFiles({ env: {}, policy: parsePolicy({}), cwd: "/" })).toBeNull();
    expect(resolveAuditFiles({ env: {}, policy, cwd: "/" })).toEqual({ log: "/var/log/p.jsonl", key: "/keys/p.key", head: "/var/log/p.jsonl.head" });
    expect(resolveAuditFiles({ env: { WARDEN_AUDIT_LOG: "/var/log/e.jsonl", WARDEN_AUDIT_HEAD: "/heads/e" }, policy, cwd: "/" })).toEqual({ log: "/var/log/e.jsonl", key: "/keys/p.key", head: "/heads/e" });
    expect(resolveAuditFiles({ auditLog: "/var/log/f.jsonl", env: { WARDEN_AUDIT_LOG: "/var/log/e.jsonl", WARDEN_AUDIT_KEY: "/keys/e" }, policy, cwd: "/" })?.log).toBe("/var/log/f.jsonl");
  });
});
