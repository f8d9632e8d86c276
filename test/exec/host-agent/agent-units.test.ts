import { describe, expect, it } from "vitest";
import { parsePolicy } from "../../../src/config/load-policy.js";
import { isLoopback, parseAgentAddress } from "../../../src/exec/host-agent/listen-address.js";
import { bearerToken, tokenMatches } from "../../../src/exec/host-agent/token.js";
import { selectBackend } from "../../../src/exec/select-backend.js";

describe("agent address, token, backend selection (pure)", () => {
  it.each([
    ["127.0.0.1:8001", { kind: "tcp", host: "127.0.0.1", port: 8001 }],
    ["http://127.0.0.1:8001/", { kind: "tcp", host: "127.0.0.1", port: 8001 }],
    ["[::1]:9", { kind: "tcp", host: "::1", port: 9 }],
    ["unix:/run/a.sock", { kind: "unix", path: "/run/a.sock" }],
    ["unix:///run/a.sock", { kind: "unix", path: "/run/a.sock" }],
  ])("parses %s", (v, want) => expect(parseAgentAddress(v)).toEqual(want));
  it.each(["unix:rel.sock", "127.0.0.1", "h:99999", "https://x:1"])("refuses %s", (v) => expect(() => parseAgentAddress(v)).toThrow());
  it("knows loopback", () => {
    expect(["127.0.0.1", "127.1.2.3", "::1", "localhost"].every(isLoopback)).toBe(true);
    expect(["0.0.0.0", "10.0.0.1", "::"].some(isLoopback)).toBe(false);
  });

  it("matches tokens exactly", () => {
    expect(tokenMatches("abc", "abc")).toBe(true);
    expect(tokenMatches("abcd", "abc")).toBe(false);
    expect(tokenMatches("", "abc")).toBe(false);
    expect(tokenMatches(undefined, "abc")).toBe(false);
    expect(tokenMatches("x", "")).toBe(false);
    expect(bearerToken("Bearer  t0k ")).toBe("t0k");
    expect(bearerToken("Basic t0k")).toBeUndefined();
  });

  const policy = parsePolicy({});
  it.each([
    [{ flag: "docker" }, "docker", false, false],
    [{ env: { EXECUTION_MODE: "docker_socket" } }, "docker", false, false],
    [{ env: { EXECUTION_MODE: "volume_mount" } }, "docker", false, true],
    [{ env: { EXECUTION_MODE: "ssh_remote" } }, "ssh", false, false],
    [{ env: { EXECUTION_MODE: "host_agent" } }, "host-agent", false, false],
    [{ env: { EXECUTION_MODE: "privileged" } }, "native", true, false],
    [{ flag: "native", env: { EXECUTION_MODE: "docker_socket" } }, "native", false, false],
    [{}, "native", false, false],
  ] as const)("selects %j", (input, backend, privileged, hostBinaries) => {
    expect(selectBackend({ ...input, policy })).toMatchObject({ backend, privileged, hostBinaries });
  });
  it("names the accepted backends for an unknown one", () => {
    expect(() => selectBackend({ flag: "kubernetes", policy })).toThrow(/unknown backend "kubernetes".*volume_mount/);
  });
  it("the policy schema refuses an ssh section without a host key pin or an authentication, and a root docker user", () => {
    expect(() => parsePolicy({ execution: { ssh: { host: "h", user: "u", private_key_path: "/k" } } })).toThrow(/pin the host key/);
    expect(() => parsePolicy({ execution: { ssh: { host: "h", user: "u", host_key_sha256: "SHA256:" + "A".repeat(43) } } })).toThrow(/authentication/);
    expect(() => parsePolicy({ execution: { docker: { user: "0:0" } } })).toThrow(/root/);
    expect(parsePolicy({ execution: { backend: "ssh", ssh: { host: "h", user: "u", agent: true, known_hosts: "/k" } } }).execution.ssh?.port).toBe(22);
  });
});
