import type { IncomingMessage } from "node:http";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { bearerAuth } from "../../src/server/http/middleware/bearer-auth.js";
import { concurrencyLimit } from "../../src/server/http/middleware/concurrency-limit.js";
import { hostAllowlist, hostName } from "../../src/server/http/middleware/host-allowlist.js";
import { originAllowlist } from "../../src/server/http/middleware/origin-allowlist.js";
import { HttpConfigError, isLoopbackHost, resolveHttpOptions, resolveToken } from "../../src/server/http/options.js";
import { HttpError } from "../../src/server/http/respond.js";
import { makeTempDir, removeDir } from "../support/tree.js";

const req = (headers: Record<string, string>) => ({ headers }) as unknown as IncomingMessage;
const status = (fn: () => void): number => {
  try {
    fn();
    return 200;
  } catch (err) {
    if (err instanceof HttpError) return err.status;
    throw err;
  }
};

describe("isLoopbackHost", () => {
  it.each([
    ["127.0.0.1", true],
    ["127.1.2.3", true],
    ["localhost", true],
    ["LOCALHOST", true],
    ["::1", true],
    ["[::1]", true],
    ["0.0.0.0", false],
    ["::", false],
    ["10.0.0.5", false],
    ["192.168.1.1", false],
    ["127.example.com", false],
    ["localhost.evil.com", false],
  ])("%s -> %s", (host, loopback) => expect(isLoopbackHost(host)).toBe(loopback));
});

describe("hostName", () => {
  it.each([
    ["localhost:8000", "localhost"],
    ["127.0.0.1", "127.0.0.1"],
    ["[::1]:8000", "[::1]"],
    ["Example.COM:443", "example.com"],
    ["", null],
    ["a b", null],
    ["evil.com/x", null],
    ["evil.com:80:81", null],
  ])("%j -> %j", (header, name) => expect(hostName(header)).toBe(name));
});

describe("host allowlist (DNS-rebinding protection)", () => {
  const check = hostAllowlist(["localhost", "127.0.0.1", "[::1]"]);
  it.each([
    ["localhost:8000", 200],
    ["127.0.0.1:1", 200],
    ["[::1]:8000", 200],
    ["evil.example.com", 403],
    ["evil.example.com:8000", 403],
    ["localhost.evil.example.com", 403],
    ["127.0.0.1.nip.io", 403],
  ])("Host %s -> %d", (host, code) => expect(status(() => check(req({ host })))).toBe(code));
  it("refuses a request without Host", () => expect(status(() => check(req({})))).toBe(403));
  it("an empty list accepts any Host (wildcard bind, token required)", () => expect(status(() => hostAllowlist([])(req({ host: "x.example" })))).toBe(200));
});

describe("origin allowlist", () => {
  const check = originAllowlist(["https://ide.example.com"]);
  it.each([
    [undefined, 200],
    ["http://localhost:3000", 200],
    ["http://127.0.0.1:6274", 200],
    ["http://[::1]:8000", 200],
    ["https://ide.example.com", 200],
    ["http://evil.example.com", 403],
    ["https://ide.example.com.evil.net", 403],
    ["null", 403],
    ["file://", 403],
    ["http://localhost.evil.example.com", 403],
  ])("Origin %s -> %d", (origin, code) => expect(status(() => check(req(origin === undefined ? {} : { origin })))).toBe(code));
});

describe("bearer token", () => {
  const check = bearerAuth("s3cret-token-with-16+chars");
  it.each([
    [{}, 401],
    [{ authorization: "Bearer s3cret-token-with-16+chars" }, 200],
    [{ authorization: "bearer s3cret-token-with-16+chars" }, 200],
    [{ authorization: "Bearer s3cret-token-with-16+chars-more" }, 401],
    [{ authorization: "Bearer s3cret" }, 401],
    [{ authorization: "Basic czNjcmV0" }, 401],
    [{ authorization: "Bearer" }, 401],
  ])("%j -> %d", (headers, code) => expect(status(() => check(req(headers as Record<string, string>)))).toBe(code));
  it("401 says how to authenticate", () => {
    try {
      check(req({}));
    } catch (err) {
      expect((err as HttpError).headers["www-authenticate"]).toMatch(/^Bearer/);
    }
  });
  it("no token configured: no check", () => expect(status(() => bearerAuth(undefined)(req({})))).toBe(200));
});

describe("concurrency limit", () => {
  it("refuses the request over the limit with 429 and frees slots on release", () => {
    const limit = concurrencyLimit(2);
    const a = limit.acquire("c1");
    limit.acquire("c1");
    expect(() => limit.acquire("c1")).toThrow(expect.objectContaining({ status: 429 }));
    expect(limit.acquire("c2")).toBeTypeOf("function");
    a();
    a(); // a second release does not free a second slot
    expect(limit.inFlight("c1")).toBe(1);
    expect(limit.acquire("c1")).toBeTypeOf("function");
  });
});

describe("options", () => {
  it("refuses a non-loopback bind without a token, saying how to fix it", () => {
    for (const host of ["0.0.0.0", "::", "10.1.2.3"]) {
      expect(() => resolveHttpOptions({ host, port: 8000 }, 1 << 20)).toThrow(HttpConfigError);
      expect(() => resolveHttpOptions({ host, port: 8000 }, 1 << 20)).toThrow(/without a token.*--token-file.*WARDEN_TOKEN/s);
    }
    expect(resolveHttpOptions({ host: "0.0.0.0", port: 8000, token: "x".repeat(32) }, 1 << 20).allowedHosts).toEqual([]);
    expect(resolveHttpOptions({ host: "10.1.2.3", port: 8000, token: "x".repeat(32) }, 1 << 20).allowedHosts).toContain("10.1.2.3");
  });
  it("loopback needs no token and accepts loopback Host names only", () => {
    const o = resolveHttpOptions({ host: "127.0.0.1", port: 0 }, 1 << 20);
    expect(o.token).toBeUndefined();
    expect(o.allowedHosts.sort()).toEqual(["127.0.0.1", "[::1]", "localhost"]);
  });
  it("rejects a bad port", () => {
    expect(() => resolveHttpOptions({ host: "127.0.0.1", port: 70000 }, 1)).toThrow(/--port/);
  });
  it("reads the token from --token-file (wins) or WARDEN_TOKEN and refuses short ones", () => {
    const dir = makeTempDir();
    try {
      const file = join(dir, "token");
      writeFileSync(file, "file-token-0123456789\n");
      expect(resolveToken(file, { WARDEN_TOKEN: "env-token-0123456789" })).toBe("file-token-0123456789");
      expect(resolveToken(undefined, { WARDEN_TOKEN: "env-token-0123456789" })).toBe("env-token-0123456789");
      expect(resolveToken(undefined, {})).toBeUndefined();
      expect(() => resolveToken(undefined, { WARDEN_TOKEN: "short" })).toThrow(/too short/);
      expect(() => resolveToken(join(dir, "missing"), {})).toThrow(/cannot read: ENOENT/);
      writeFileSync(file, "\n");
      expect(() => resolveToken(file, {})).toThrow(/empty/);
    } finally {
      removeDir(dir);
    }
  });
});
