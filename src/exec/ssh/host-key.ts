import { createHash, createHmac } from "node:crypto";

/** OpenSSH's fingerprint of a public key blob: `SHA256:` + unpadded base64 of its SHA-256. */
export function sha256Fingerprint(blob: Buffer): string {
  return `SHA256:${createHash("sha256").update(blob).digest("base64").replace(/=+$/, "")}`;
}

/** Normalizes a configured fingerprint (`SHA256:abc`, `abc`, `abc=`) to `SHA256:abc`. */
export function normalizeFingerprint(value: string): string {
  return `SHA256:${value.trim().replace(/^SHA256:/i, "").replace(/=+$/, "")}`;
}

/** The name known_hosts uses for a host: `host` on port 22, `[host]:port` otherwise. */
export function knownHostsName(host: string, port: number): string {
  return port === 22 ? host : `[${host}]:${port}`;
}

function hostMatches(pattern: string, name: string): boolean {
  if (pattern.startsWith("|1|")) {
    const [, , salt, hash] = pattern.split("|");
    if (!salt || !hash) return false;
    return createHmac("sha1", Buffer.from(salt, "base64")).update(name).digest("base64") === hash;
  }
  // Plain names (comma-separated); wildcards are not honoured: pinning means one exact host.
  return pattern.split(",").some((p) => p === name);
}

export type HostKeyVerdict = { ok: true } | { ok: false; reason: string };

/**
 * Decides a host key against the pins: a SHA256 fingerprint from the policy and/or a known_hosts
 * text. Fails closed: no pin at all, a host that is not listed, a listed host with another key or a
 * revoked key are all refused, each with a reason that shows the key that was offered.
 */
export function verifyHostKey(blob: Buffer, pins: { fingerprint?: string; knownHosts?: string; host: string; port: number }): HostKeyVerdict {
  const offered = sha256Fingerprint(blob);
  const name = knownHostsName(pins.host, pins.port);
  if (!pins.fingerprint && pins.knownHosts === undefined) {
    return { ok: false, reason: `host key of ${name} is not pinned (offered ${offered}): set execution.ssh.host_key_sha256 or execution.ssh.known_hosts` };
  }
  if (pins.fingerprint) {
    const want = normalizeFingerprint(pins.fingerprint);
    if (want !== offered) return { ok: false, reason: `host key of ${name} does not match the pinned fingerprint (offered ${offered}, pinned ${want}): refusing to connect` };
    if (pins.knownHosts === undefined) return { ok: true };
  }
  let listed = false;
  for (const raw of (pins.knownHosts ?? "").split("\n")) {
    const line = raw.trim();
    if (!line || line.startsWith("#")) continue;
    const fields = line.split(/\s+/);
    const marker = fields[0]!.startsWith("@") ? fields.shift() : undefined;
    const [hosts, , key] = fields;
    if (!hosts || !key || marker === "@cert-authority" || !hostMatches(hosts, name)) continue;
    const same = Buffer.from(key, "base64").equals(blob);
    if (marker === "@revoked") {
      if (same) return { ok: false, reason: `host key of ${name} is revoked in known_hosts (${offered})` };
      continue;
    }
    listed = true;
    if (same) return { ok: true };
  }
  return listed
    ? { ok: false, reason: `host key of ${name} has CHANGED: known_hosts lists another key (offered ${offered}); refusing to connect` }
    : { ok: false, reason: `host ${name} is unknown: it is not in the pinned known_hosts file (offered ${offered}); refusing to connect` };
}
