import { execFileSync } from "node:child_process";
import { mkdirSync, renameSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { wasi } from "@bjorn3/browser_wasi_shim";
import { afterAll, describe, expect, test } from "vitest";
import { HostDirectory } from "../../../src/sandbox/host/host-directory.js";
import { HostFile } from "../../../src/sandbox/host/host-file.js";
import { listedEntries, openListed, type OpenIntent } from "../../../src/sandbox/host/resolve.js";
import type { SandboxScope } from "../../../src/sandbox/types.js";
import { tempTree } from "../helpers.js";
import { errName, Harness, listNames } from "./harness.js";

/*
 * The listed fast path (resolve.ts `openListed`): opening a name the directory's last listing typed
 * as a regular file (or directory) skips the lstat and, for files, the readlink. These tests swap
 * the name between the listing and the open, deterministically (the listing is what the module saw;
 * the swap is what another process did since), and require the answer to be exactly the one the
 * full path gives with no listing at all: same errno, same object, same bytes, same denials.
 */

const t = tempTree("warden-listed-");
afterAll(() => t.cleanup());

const CANARY = "LISTED-CANARY-5e1b";
const outside = join(t.dir, "outside");
mkdirSync(outside);
writeFileSync(join(outside, "secret.txt"), CANARY);
mkdirSync(join(outside, "dir"));
writeFileSync(join(outside, "dir/x.txt"), CANARY);

let canMknod = true;
try {
  execFileSync("mknod", [join(t.dir, "probe-dev"), "c", "1", "3"], { stdio: "pipe" });
} catch {
  canMknod = false;
}

/** What the name `f.txt` in the root is when the module opens it. */
const STATES = {
  file: (p: string) => writeFileSync(p, "inside"),
  "symlink to a file outside": (p: string) => symlinkSync(join(outside, "secret.txt"), p),
  "symlink to a directory outside": (p: string) => symlinkSync(join(outside, "dir"), p),
  "symlink to a file inside": (p: string) => symlinkSync("other.txt", p),
  "dangling symlink": (p: string) => symlinkSync("nowhere", p),
  directory: (p: string) => {
    mkdirSync(p);
    writeFileSync(join(p, "x.txt"), "in-dir");
  },
  fifo: (p: string) => execFileSync("mkfifo", [p]),
  "character device": (p: string) => execFileSync("mknod", [p, "c", "1", "3"]),
  gone: () => {},
} satisfies Record<string, (p: string) => void>;
type State = keyof typeof STATES;
const STATE_NAMES = (Object.keys(STATES) as State[]).filter((s) => canMknod || s !== "character device");

interface Intent {
  write?: boolean;
  create?: boolean;
  excl?: boolean;
  trunc?: boolean;
  append?: boolean;
  dir?: boolean;
  nofollow?: boolean;
}
const INTENTS: Record<string, Intent> = {
  read: {},
  "read, O_NOFOLLOW": { nofollow: true },
  "O_DIRECTORY": { dir: true },
  write: { write: true },
  "create": { write: true, create: true },
  "create|excl": { write: true, create: true, excl: true },
  "trunc": { write: true, trunc: true },
  append: { append: true },
};

/** A fresh root holding `f.txt` in `state`, `other.txt`, `sub/` and a denied `.env`. */
function makeRoot(name: string, state: State): string {
  const root = join(t.dir, name);
  rmSync(root, { recursive: true, force: true });
  mkdirSync(join(root, "sub"), { recursive: true });
  writeFileSync(join(root, "other.txt"), "other");
  writeFileSync(join(root, ".env"), CANARY);
  writeFileSync(join(root, "sub/s.txt"), "sub");
  STATES[state](join(root, "f.txt"));
  return root;
}

function setState(root: string, state: State): void {
  rmSync(join(root, "f.txt"), { recursive: true, force: true });
  STATES[state](join(root, "f.txt"));
}

function scopeOf(root: string, writable: boolean): SandboxScope {
  return { preopens: [{ hostPath: root, writable }], denyGlobs: ["**/.env"] };
}

/** Everything observable about one open: errno, object kind and what reading/writing it gives, denials. */
function outcome(h: Harness, path: string, intent: Intent, at: HostDirectory = h.root): string {
  const r = h.open(path, intent, at);
  let what: string;
  if (r.ret !== 0 || !r.fd_obj) what = errName(r.ret);
  else if (r.fd_obj instanceof HostDirectory) {
    what = `DIR ${listNames(r.fd_obj).sort().join(",")}`;
    r.fd_obj.fd_close();
  } else if (r.fd_obj instanceof HostFile) {
    const rd = r.fd_obj.fd_read(256);
    const wr = r.fd_obj.fd_write(new Uint8Array());
    const st = r.fd_obj.fd_filestat_get();
    what = `FILE read=${errName(rd.ret)}:${Buffer.from(rd.data).toString()} write=${errName(wr.ret)} type=${st.filestat?.filetype} flags=${r.fd_obj.fd_fdstat_get().fdstat.fs_flags} path=${r.fd_obj.guestPath}`;
    r.fd_obj.fd_close();
  } else what = "OTHER";
  return `${what} denials=${JSON.stringify(h.ctx.denials)}`;
}

/** The full path's answer: a fresh tree (`f.txt` in `now`) and a fresh run that never listed it. */
function unlisted(name: string, writable: boolean, now: State, path: string, intent: Intent): string {
  const root = makeRoot(name, now);
  const h = new Harness(scopeOf(root, writable));
  const out = outcome(h, path, intent);
  expect(h.close(), "descriptors left open").toBe(0);
  return out;
}

/** The same open on a fresh tree, after a listing made while `f.txt` was in `listedAs`, then switched to `now`. */
function listedThen(name: string, writable: boolean, listedAs: State, now: State, path: string, intent: Intent): string {
  const root = makeRoot(name, listedAs);
  const h = new Harness(scopeOf(root, writable));
  const names = listNames(h.root);
  expect(names).not.toContain(".env");
  setState(root, now);
  const out = outcome(h, path, intent);
  expect(h.close(), "descriptors left open").toBe(0);
  return out;
}

describe("listed fast path: a name swapped between listing and open answers exactly like the full path", () => {
  for (const writable of [true, false]) {
    for (const listedAs of ["file", "directory"] as const) {
      for (const now of STATE_NAMES) {
        for (const [intentName, intent] of Object.entries(INTENTS)) {
          test(`${writable ? "rw" : "ro"} root, listed as ${listedAs}, now ${now}, ${intentName}`, () => {
            const want = unlisted("swap", writable, now, "f.txt", intent);
            const got = listedThen("swap", writable, listedAs, now, "f.txt", intent);
            expect(got).toBe(want);
            expect(got).not.toContain(CANARY);
          });
        }
      }
    }
  }
});

describe("listed fast path: only plain names of the listing", () => {
  const paths = ["f.txt", "./f.txt", "f.txt/", "sub/../f.txt", "sub/s.txt", ".", "..", "", ".env", "sub", "sub/", "nope.txt", "f.txt\0"];
  for (const path of paths) {
    for (const [intentName, intent] of Object.entries(INTENTS)) {
      test(`${JSON.stringify(path)}, ${intentName}`, () => {
        const want = unlisted("plain", true, "file", path, intent);
        const got = listedThen("plain", true, "file", "file", path, intent);
        expect(got).toBe(want);
      });
    }
  }
});

describe("openListed (the rule itself)", () => {
  const root = makeRoot("rule", "file");
  const read: OpenIntent = { create: false, excl: false, trunc: false, append: false, write: false, wantDir: false };
  const F = wasi.FILETYPE_REGULAR_FILE;
  const D = wasi.FILETYPE_DIRECTORY;

  function attempt(listed: [string, number][], path: string, intent: OpenIntent): string {
    const h = new Harness(scopeOf(root, true));
    const start = { door: h.ctx.doors[0]!, fd: h.ctx.doors[0]!.fd, rel: [] };
    const r = openListed(h.ctx, start, new Map(listed), path, intent);
    const out = r === null ? "full path" : r.dir ? "dir" : "file";
    if (r !== null) h.ctx.closeHost(r.fd);
    expect(h.close(), "descriptors left open").toBe(0);
    return out;
  }

  test("a listed regular file opened read-only: taken (also with O_NOFOLLOW semantics: it is not a link)", () => {
    expect(attempt([["f.txt", F]], "f.txt", read)).toBe("file");
  });
  test("a listed directory: taken, with or without O_DIRECTORY", () => {
    expect(attempt([["sub", D]], "sub", read)).toBe("dir");
    expect(attempt([["sub", D]], "sub", { ...read, wantDir: true })).toBe("dir");
  });
  test("a regular file opened with O_DIRECTORY: full path (ENOTDIR comes from there)", () => {
    expect(attempt([["f.txt", F]], "f.txt", { ...read, wantDir: true })).toBe("full path");
  });
  for (const flag of ["create", "excl", "trunc", "append", "write"] as const) {
    test(`${flag}: full path`, () => {
      expect(attempt([["f.txt", F]], "f.txt", { ...read, [flag]: true })).toBe("full path");
      expect(attempt([["sub", D]], "sub", { ...read, [flag]: true })).toBe("full path");
    });
  }
  test("a name not in the listing: full path", () => {
    expect(attempt([], "f.txt", read)).toBe("full path");
    expect(attempt([["other.txt", F]], "f.txt", read)).toBe("full path");
  });
  test("anything but a plain name, even if a (forged) listing holds it: full path", () => {
    for (const p of ["sub/s.txt", ".", "..", "", "f.txt/", "f.txt\0"]) expect(attempt([[p, F]], p, read), p).toBe("full path");
    for (const p of ["sub/", ".", ".."]) expect(attempt([[p, D]], p, read), p).toBe("full path");
  });
  test("listed with the wrong type: full path", () => {
    expect(attempt([["sub", F]], "sub", read)).toBe("full path");
    expect(attempt([["f.txt", D]], "f.txt", read)).toBe("full path");
  });
  test("listedEntries keeps regular files and directories only", () => {
    const m = listedEntries(["a", "b", "c", "d"], [F, D, wasi.FILETYPE_SYMBOLIC_LINK, wasi.FILETYPE_UNKNOWN]);
    expect([...m]).toEqual([
      ["a", F],
      ["b", D],
    ]);
  });
});

describe("listed fast path: deny globs and directories", () => {
  test("a denied name is never listed, and opening it after a listing is refused like before", () => {
    const want = unlisted("deny", true, "file", ".env", {});
    expect(want).toMatch(/^EACCES denials=.*deny/);
    const root = makeRoot("deny", "file");
    const h = new Harness(scopeOf(root, true));
    expect(listNames(h.root)).not.toContain(".env");
    expect(outcome(h, ".env", {})).toBe(want);
    expect(h.close()).toBe(0);
  });

  test("a denied name inside a listed directory reached by the fast path stays refused", () => {
    const root = makeRoot("deny-sub", "file");
    writeFileSync(join(root, "sub/.env"), CANARY);
    const h = new Harness(scopeOf(root, true));
    listNames(h.root);
    const sub = h.open("sub", { dir: true });
    expect(sub.fd_obj).toBeInstanceOf(HostDirectory);
    const dir = sub.fd_obj as HostDirectory;
    expect(listNames(dir)).not.toContain(".env");
    expect(outcome(h, ".env", {}, dir)).toMatch(/^EACCES /);
    dir.fd_close();
    expect(h.close()).toBe(0);
  });

  test("a listed directory moved outside the root: its subdirectories are refused as escapes", () => {
    const root = makeRoot("moved", "file");
    mkdirSync(join(root, "sub/inner"));
    const h = new Harness(scopeOf(root, true));
    const sub = h.open("sub", { dir: true }).fd_obj as HostDirectory;
    expect(listNames(sub)).toContain("inner");
    renameSync(join(root, "sub"), join(outside, "moved-sub"));
    try {
      const r = outcome(h, "inner", { dir: true }, sub);
      expect(r).toMatch(/^ENOTCAPABLE .*sandbox\.escape/);
    } finally {
      sub.fd_close();
      renameSync(join(outside, "moved-sub"), join(root, "sub"));
    }
    expect(h.close()).toBe(0);
  });

  test("a FIFO swapped in after the listing is refused at once (no hang, nothing read)", () => {
    const t0 = performance.now();
    const got = listedThen("fifo", true, "file", "fifo", "f.txt", {});
    expect(got).toMatch(/^EACCES .*sandbox\.file_type/);
    expect(performance.now() - t0).toBeLessThan(5000);
  });
});
