import { createHash, createHmac, randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { knownHostsName, normalizeFingerprint, sha256Fingerprint, verifyHostKey } from "../../../src/exec/ssh/host-key.js";

const key = randomBytes(51);
const other = randomBytes(51);
const b64 = (b: Buffer) => b.toString("base64");
const fp = `SHA256:${createHash("sha256").update(key).digest("base64").replace(/=+$/, "")}`;
const hashed = (name: string) => {
  const salt = randomBytes(20);
  return `|1|${b64(salt)}|${createHmac("sha1", salt).update(name).digest("base64")}`;
};

describe("host key pinning (pure)", () => {
  it("computes OpenSSH fingerprints and normalizes pins", () => {
    expect(sha256Fingerprint(key)).toBe(fp);
    expect(normalizeFingerprint(fp.slice(7) + "=")).toBe(fp);
    expect(knownHostsName("h", 22)).toBe("h");
    expect(knownHostsName("h", 2222)).toBe("[h]:2222");
  });

  const cases: [string, Parameters<typeof verifyHostKey>[1], RegExp | true][] = [
    ["no pin at all", { host: "h", port: 22 }, /not pinned/],
    ["matching fingerprint", { host: "h", port: 22, fingerprint: fp }, true],
    ["fingerprint without prefix", { host: "h", port: 22, fingerprint: fp.slice(7) }, true],
    ["wrong fingerprint", { host: "h", port: 22, fingerprint: sha256Fingerprint(other) }, /does not match/],
    ["known_hosts plain entry", { host: "h", port: 22, knownHosts: `h ssh-ed25519 ${b64(key)}\n` }, true],
    ["known_hosts with port", { host: "h", port: 2222, knownHosts: `[h]:2222 ssh-ed25519 ${b64(key)}\n` }, true],
    ["port mismatch is unknown", { host: "h", port: 2222, knownHosts: `h ssh-ed25519 ${b64(key)}\n` }, /unknown/],
    ["comma list", { host: "h", port: 22, knownHosts: `a,h,b ssh-ed25519 ${b64(key)}\n` }, true],
    ["hashed entry", { host: "h", port: 22, knownHosts: `${hashed("h")} ssh-ed25519 ${b64(key)}\n` }, true],
    ["hashed entry of another host", { host: "h", port: 22, knownHosts: `${hashed("x")} ssh-ed25519 ${b64(key)}\n` }, /unknown/],
    ["changed key", { host: "h", port: 22, knownHosts: `h ssh-ed25519 ${b64(other)}\n` }, /CHANGED/],
    ["one of two keys matches", { host: "h", port: 22, knownHosts: `h ssh-rsa ${b64(other)}\nh ssh-ed25519 ${b64(key)}\n` }, true],
    ["revoked key", { host: "h", port: 22, knownHosts: `@revoked h ssh-ed25519 ${b64(key)}\nh ssh-ed25519 ${b64(key)}\n` }, /revoked/],
    ["wildcards are not honoured", { host: "h", port: 22, knownHosts: `* ssh-ed25519 ${b64(key)}\n` }, /unknown/],
    ["cert-authority lines ignored", { host: "h", port: 22, knownHosts: `@cert-authority h ssh-ed25519 ${b64(key)}\n` }, /unknown/],
    ["comments and blanks", { host: "h", port: 22, knownHosts: `# h ssh-ed25519 ${b64(key)}\n\n` }, /unknown/],
    ["fingerprint and known_hosts both must hold", { host: "h", port: 22, fingerprint: fp, knownHosts: `h ssh-ed25519 ${b64(other)}\n` }, /CHANGED/],
    ["empty known_hosts file", { host: "h", port: 22, knownHosts: "" }, /unknown/],
  ];
  it.each(cases)("%s", (_name, pins, want) => {
    const v = verifyHostKey(key, pins);
    if (want === true) expect(v).toEqual({ ok: true });
    else {
      expect(v.ok).toBe(false);
      expect((v as { reason: string }).reason).toMatch(want);
      expect((v as { reason: string }).reason).toContain(fp);
    }
  });
});
