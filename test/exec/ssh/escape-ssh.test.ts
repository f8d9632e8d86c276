import { chmodSync, chownSync, existsSync, readFileSync, renameSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isWithin } from "../../../src/policy/roots.js";
import { engineUnsupported, requireBinary } from "../../support/engines/require-binary.js";
import { ensureTestUser, startSshEngine, type SshEngine } from "../../support/engines/ssh-engine.js";
import { SWAPPER } from "../../support/escape-probes.js";
import { canary, makeTempDir, removeDir, writeTree } from "../../support/tree.js";
import { startWarden, type WardenClient } from "../../support/warden-client.js";

const unsupported = engineUnsupported();
const TRIES = Number(process.env.WARDEN_ESCAPE_TRIES ?? 100);

/** Prints the command's physical working directory (what the kernel says, not $PWD). */
const WHERE = `python3 -c 'import os; print("cwd:" + os.getcwd())'`;

/**
 * The red team's moves (issue 10) against the ssh backend's remote roots, through `warden serve
 * --backend ssh` and a real sshd on 127.0.0.1 (the "remote host" is this machine, as the non-root
 * test user). There is no OS sandbox on the remote side: what holds is that a command never runs
 * with its working directory outside the remote roots, whatever a command swaps inside them, and
 * that a remote root which stops resolving where it did is refused by name. What it does not hold
 * (the remote account's own permissions are the boundary) is stated by a test too.
 */
describe.skipIf(unsupported !== null)(`ssh backend red team (warden serve --backend ssh -> sshd)${unsupported ? ` (skipped: ${unsupported})` : ""}`, () => {
  let engine: SshEngine;
  let base: string;
  let secret: string;
  let user: { uid: number; gid: number };
  const servers: WardenClient[] = [];

  beforeAll(async () => {
    requireBinary("python3", "python3");
    engine = await startSshEngine();
    user = ensureTestUser();
    base = makeTempDir("warden-escape-ssh-");
    chmodSync(base, 0o755); // the remote user must reach its roots; it cannot write here
    secret = canary("SSH-ESCAPE");
    writeTree(base, { "outside/canary.txt": secret, "private/canary.txt": secret });
    chmodSync(join(base, "private"), 0o700);
  });
  afterAll(async () => {
    for (const w of servers) await w.close().catch(() => {});
    await engine?.stop();
    if (base) removeDir(base);
  });

  /** A remote root `name` (owned by the remote user) with a read-only root at sub/ro, and a server on it. */
  async function serve(name: string): Promise<{ w: WardenClient; root: string; ro: string }> {
    const root = join(base, name);
    writeTree(base, { [`${name}/keep.txt`]: "work\n", [`${name}/sub/ro/ro.txt`]: "read-only\n" });
    for (const dir of [root, join(root, "sub")]) chownSync(dir, user.uid, user.gid);
    const ro = join(root, "sub", "ro");
    const policy = join(base, `policy-${name}.json`);
    writeFileSync(
      policy,
      JSON.stringify({
        commands: { allow: ["python3", "mv", "mkdir", "ln", "cat", "pwd", "ls"].map((program) => ({ program })), trusted_path: ["/usr/bin", "/bin"] },
        execution: { ssh: { host: engine.host, port: engine.port, user: engine.user, private_key_path: engine.privateKeyPath, host_key_sha256: engine.hostKeySha256, roots: [root], read_only_roots: [ro] } },
      }),
    );
    const w = await startWarden(["--backend", "ssh", "--policy", policy, "--root", root], { cwd: root });
    servers.push(w);
    return { w, root, ro };
  }

  /** The `cwd:` a probe printed, or null when it did not run. */
  const cwdOf = (text: string) => /cwd:(\/[^\n]*)/.exec(text)?.[1] ?? null;

  it("a working_directory or a program path through a symlink to / inside a remote root never runs outside the roots", async () => {
    const { w, root } = await serve("a");
    writeTree(root, { link: { link: "/" }, up: { link: "../outside" } });
    for (const wd of ["link", "link/etc", "up", join(root, "link")]) {
      const r = await w.call("execute_command", { command: WHERE, working_directory: wd });
      expect(r.isError, `${wd}: ${w.text(r)}`).toBe(true);
      expect(w.text(r)).toMatch(/execution\.ssh\.roots/);
      expect(cwdOf(w.text(r))).toBeNull();
    }
    // A program reached through the link runs (it is /bin/pwd), but where the bridge put it.
    const through = await w.call("execute_command", { command: `${join(root, "link", "bin", "pwd")} -P` });
    if (!through.isError) expect(w.text(through)).toContain(root);
    const inside = await w.call("execute_command", { command: WHERE });
    expect(cwdOf(w.text(inside))).toBe(root);
  });

  it(`a directory swapped for a symlink to / in a loop never becomes a command's working directory (${TRIES} tries)`, async () => {
    const { w, root } = await serve("b");
    const bg = await w.call("execute_command", { command: SWAPPER, background: true, timeout: 600 });
    expect(bg.isError, w.text(bg)).toBeFalsy();
    const handle = (bg.structuredContent as { handle: string }).handle;
    const swaps = () => (existsSync(join(root, "swaps.txt")) ? Number(readFileSync(join(root, "swaps.txt"), "utf8")) : 0);
    let inside = 0;
    let outside = 0;
    let refused = 0;
    const reasons = new Map<string, number>();
    for (let i = 0; i < TRIES; i++) {
      const r = await w.call("execute_command", { command: WHERE, working_directory: "x" });
      const text = w.text(r);
      const cwd = cwdOf(text);
      if (cwd === null) {
        refused++;
        const reason = /\[rule: ([^\]]+)\]/.exec(text)?.[1] ?? (/exit_code: 126|"exit_code":\s*126/.test(text) ? "exit 126 (the directory changed before cd)" : text.slice(0, 80));
        reasons.set(reason, (reasons.get(reason) ?? 0) + 1);
      } else if (isWithin(root, cwd)) inside++;
      else {
        outside++;
        console.log(`outside the roots: ${text}`);
      }
    }
    const swapped = swaps();
    await w.call("kill_process", { handle });
    console.log(`ssh working_directory swap race: ${TRIES} tries, ${inside} ran inside, ${refused} refused (${JSON.stringify(Object.fromEntries(reasons))}), ${outside} outside, >= ${swapped} swaps`);
    expect(swapped, "the swapper must have been swapping during the tries").toBeGreaterThan(0);
    expect(outside).toBe(0);
    expect(inside, "commands still run while the swap goes on").toBeGreaterThan(0);
  }, 900_000);

  it("a nested read-only root whose parent a command moved and replaced by a symlink to /: refused by name, never a root at /", async () => {
    const { w, root, ro } = await serve("c");
    const first = await w.call("execute_command", { command: WHERE, working_directory: "sub/ro" });
    expect(cwdOf(w.text(first))).toBe(ro);
    // Nothing pins directories on the remote host: the move itself succeeds there.
    const attack = await w.call("execute_command", { command: `mv sub sub2 && mkdir sub && ln -s / sub/ro` });
    expect(attack.isError, w.text(attack)).toBeFalsy();
    for (const wd of [undefined, "sub/ro", "sub/ro/etc", "/", "/etc", "sub2"]) {
      const r = await w.call("execute_command", { command: WHERE, ...(wd ? { working_directory: wd } : {}) });
      expect(r.isError, `${wd}: ${w.text(r)}`).toBe(true);
      expect(w.text(r)).toContain("roots.moved");
      expect(w.text(r)).toContain(ro);
      expect(cwdOf(w.text(r))).toBeNull();
    }
    // A later server on the same tree: the read-only root no longer lies inside the root it was configured in.
    const later = await reserve(root);
    const again = await later.call("execute_command", { command: WHERE, working_directory: "/" });
    expect(again.isError, later.text(again)).toBe(true);
    expect(later.text(again)).toContain("roots.moved");
    expect(later.text(again)).toContain(ro);
  });

  it("a remote root replaced by a symlink to / after its first use: refused by name", async () => {
    const { w, root } = await serve("d");
    const first = await w.call("execute_command", { command: WHERE });
    expect(cwdOf(w.text(first))).toBe(root);
    renameSync(root, join(base, "d-moved"));
    symlinkSync("/", root);
    for (const wd of [undefined, "/", "etc"]) {
      const r = await w.call("execute_command", { command: WHERE, ...(wd ? { working_directory: wd } : {}) });
      expect(r.isError, `${wd}: ${w.text(r)}`).toBe(true);
      expect(w.text(r)).toContain("roots.moved");
      expect(w.text(r)).toContain(root);
    }
  });

  it("what it does not promise: the remote account's own permissions are the boundary outside the working directory", async () => {
    const { w, root } = await serve("e");
    const readable = await w.call("execute_command", { command: `python3 -c 'print(open(${JSON.stringify(join(base, "outside", "canary.txt"))}).read())'` });
    expect(w.text(readable), "no OS sandbox on the remote side: a file the account can read is readable").toContain(secret);
    const denied = await w.call("execute_command", { command: `python3 -c 'print(open(${JSON.stringify(join(base, "private", "canary.txt"))}).read())'` });
    expect(w.text(denied)).toMatch(/PermissionError|Permission denied/);
    expect(w.text(denied)).not.toContain(secret);
  });

  /** A second server with the configuration `serve` wrote for `root`. */
  async function reserve(root: string): Promise<WardenClient> {
    const w = await startWarden(["--backend", "ssh", "--policy", join(base, `policy-${root.slice(base.length + 1)}.json`), "--root", root], { cwd: root });
    servers.push(w);
    return w;
  }
});
