import { chmodSync, closeSync, constants, fstatSync, lstatSync, mkdirSync, mkdtempSync, openSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { FileId, MaskSources } from "./mount-plan.js";

interface Held {
  path: string;
  fd: number;
  id: FileId;
}

/**
 * The empty read-only file and directory bound over what the sandbox hides (mount-plan.ts): reading
 * gives nothing (an empty file, an empty directory, not an error that would make `grep -r` fail),
 * writing fails with EROFS. They live in a private directory and are held open, so their identity is
 * fixed; before each use the paths are checked to still lead to them (the command's mount check
 * compares what it finds with these identities), and recreated if they went missing (a /tmp cleaner).
 */
export function createMaskSources(): { get(): MaskSources; dispose(): void } {
  let dir: string | undefined;
  let file: Held | undefined;
  let empty: Held | undefined;
  const release = () => {
    for (const h of [file, empty]) if (h) closeQuietly(h.fd);
    if (dir) rmSync(dir, { recursive: true, force: true });
    dir = file = empty = undefined;
  };
  const intact = (h: Held | undefined) => {
    if (!h) return false;
    try {
      const st = lstatSync(h.path, { bigint: true });
      return String(st.dev) === h.id.dev && String(st.ino) === h.id.ino && (Number(st.mode) & 0o222) === 0;
    } catch {
      return false;
    }
  };
  const create = () => {
    release();
    dir = mkdtempSync(join(tmpdir(), "warden-mask-"));
    const filePath = join(dir, "empty");
    writeFileSync(filePath, "", { mode: 0o444 });
    chmodSync(filePath, 0o444);
    const dirPath = join(dir, "empty-dir");
    mkdirSync(dirPath, { mode: 0o555 });
    chmodSync(dirPath, 0o555);
    file = hold(filePath, constants.O_RDONLY | constants.O_NOFOLLOW);
    empty = hold(dirPath, constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW);
  };
  return {
    get(): MaskSources {
      if (!intact(file) || !intact(empty)) create();
      return { file: { path: file!.path, id: file!.id }, dir: { path: empty!.path, id: empty!.id } };
    },
    dispose: release,
  };
}

function hold(path: string, flags: number): Held {
  const fd = openSync(path, flags);
  const st = fstatSync(fd, { bigint: true });
  return { path, fd, id: { dev: String(st.dev), ino: String(st.ino) } };
}

function closeQuietly(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    // already closed
  }
}
