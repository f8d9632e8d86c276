import { closeSync, constants, fstatSync, openSync, readlinkSync } from "node:fs";
import { movedMessage, pathLeadsTo } from "../../config/held-roots.js";
import type { HeldDir } from "../../policy/roots.js";
import { ExecRefusal } from "../errors.js";
import type { DirId } from "./deny-index.js";
import type { FileId, PlanPin } from "./mount-plan.js";

/** Directory opens: never follow the last component, never block, never a controlling tty. */
const DIR_FLAGS = constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW | constants.O_NONBLOCK | constants.O_NOCTTY;

/** Rule of a refusal because a directory inside a root changed while the command was being prepared. */
export const CHANGED_RULE = "sandbox.changed";

/** A root ready to be handed to bubblewrap by descriptor. */
export interface OpenRoot {
  path: string;
  writable: boolean;
  fd: number;
  id: FileId;
}

export interface OpenedBinds {
  roots: OpenRoot[];
  pins: PlanPin[];
  /** Closes what was opened here (held roots stay open: they belong to the server's RootHolder). */
  release(): void;
}

/**
 * Opens what bubblewrap will bind, by descriptor and without following any symlink a command could
 * have planted: every root (its held descriptor, after checking its path still leads to it), the
 * directories between an outer root and a root nested in it, and the directories holding deny masks
 * (`maskPins`). Nested roots and pins are reached by a walk from the outer root's descriptor, one
 * component at a time with O_NOFOLLOW through /proc/self/fd, so their identities are those of the
 * real directories inside the root; the mount check then requires bubblewrap to have mounted
 * exactly these. Throws ExecRefusal (`roots.moved`, `sandbox.changed`) instead of guessing.
 */
export function openBinds(
  requested: readonly { path: string; writable: boolean; held?: HeldDir }[],
  maskPins: readonly string[],
  judged: ReadonlyMap<string, DirId> = new Map(),
): OpenedBinds {
  const owned: number[] = [];
  const release = () => {
    for (const fd of owned.splice(0)) closeQuietly(fd);
  };
  try {
    const roots = dedupe(requested).map((r) => openRoot(r, owned));
    const pins = new Map<string, PlanPin>();
    const walker = new Walker(owned);
    for (const root of roots) {
      const outer = innermost(roots, root.path, true);
      if (!outer) continue;
      // A root inside another: every directory between them is pinned, and the walk must end on it.
      const rel = root.path.slice(outer.path === "/" ? 1 : outer.path.length + 1).split("/");
      let base = outer.path;
      for (const name of rel.slice(0, -1)) {
        base = join(base, name);
        const opened = walker.open(outer, base, () => new ExecRefusal("roots.moved", movedMessage(root.path)));
        pins.set(base, { path: base, writable: innermost(roots, base, false)!.writable, id: opened.id });
      }
      const last = walker.open(outer, root.path, () => new ExecRefusal("roots.moved", movedMessage(root.path)));
      if (last.id.dev !== root.id.dev || last.id.ino !== root.id.ino) throw new ExecRefusal("roots.moved", movedMessage(root.path));
    }
    const changed = (path: string) => new ExecRefusal(CHANGED_RULE, `${path} changed while the command was being prepared (a directory was moved or replaced); nothing ran, run the command again`);
    for (const root of roots) {
      const seen = judged.get(root.path);
      if (seen && (String(seen.dev) !== root.id.dev || String(seen.ino) !== root.id.ino)) throw changed(root.path);
    }
    for (const path of maskPins) {
      const holder = innermost(roots, path, true);
      if (!holder) throw new ExecRefusal(CHANGED_RULE, `${path} is not inside a root`);
      const opened = walker.open(holder, path, () => changed(path));
      // The masks below were planned for the directory the deny scan judged: this must be that one.
      const seen = judged.get(path);
      if (!seen || String(seen.dev) !== opened.id.dev || String(seen.ino) !== opened.id.ino) throw changed(path);
      pins.set(path, { path, writable: innermost(roots, path, false)!.writable, id: opened.id });
    }
    return { roots, pins: [...pins.values()], release };
  } catch (err) {
    release();
    throw err;
  }
}

function openRoot(r: { path: string; writable: boolean; held?: HeldDir }, owned: number[]): OpenRoot {
  if (r.held) {
    if (!pathLeadsTo(r.path, r.held)) throw new ExecRefusal("roots.moved", movedMessage(r.path));
    return { path: r.path, writable: r.writable, fd: r.held.fd, id: { dev: r.held.dev, ino: r.held.ino } };
  }
  // Not held by the server (a backend used on its own): held from now, for this command.
  let fd: number;
  try {
    fd = openSync(r.path, DIR_FLAGS);
  } catch (err) {
    throw new ExecRefusal("roots.moved", `${movedMessage(r.path)} (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
  }
  owned.push(fd);
  if (readlinkSync(`/proc/self/fd/${fd}`) !== r.path) throw new ExecRefusal("roots.moved", movedMessage(r.path));
  return { path: r.path, writable: r.writable, fd, id: idOf(fd) };
}

/** Opens directories below a root's descriptor, one component at a time, each opened once per command. */
class Walker {
  private readonly opened = new Map<string, { fd: number; id: FileId }>();
  constructor(private readonly owned: number[]) {}

  open(root: OpenRoot, path: string, failure: () => ExecRefusal): { fd: number; id: FileId } {
    const known = this.opened.get(path);
    if (known) return known;
    const rel = path.slice(root.path === "/" ? 1 : root.path.length + 1).split("/");
    let fd = root.fd;
    let at = root.path;
    for (const name of rel) {
      at = join(at, name);
      const cached = this.opened.get(at);
      if (cached) {
        fd = cached.fd;
        continue;
      }
      let next: number;
      try {
        next = openSync(`/proc/self/fd/${fd}/${name}`, DIR_FLAGS);
      } catch {
        throw failure(); // ELOOP (a symlink now), ENOTDIR, ENOENT: not the directory that was there
      }
      this.owned.push(next);
      const entry = { fd: next, id: idOf(next) };
      this.opened.set(at, entry);
      fd = next;
    }
    return this.opened.get(path)!;
  }
}

/** The deepest root that contains `path` (strictly below it when `strict`). */
function innermost<R extends { path: string }>(roots: readonly R[], path: string, strict: boolean): R | undefined {
  let best: R | undefined;
  for (const r of roots) {
    const under = r.path === "/" ? path !== "/" || !strict : path.startsWith(r.path + "/") || (!strict && path === r.path);
    if (under && (!best || r.path.length > best.path.length)) best = r;
  }
  return best;
}

/** The same directory listed twice keeps the narrower (read-only) access. */
function dedupe<R extends { path: string; writable: boolean }>(roots: readonly R[]): R[] {
  const seen = new Map<string, R>();
  for (const r of roots) {
    const prev = seen.get(r.path);
    seen.set(r.path, prev ? { ...prev, writable: prev.writable && r.writable } : r);
  }
  return [...seen.values()];
}

function join(dir: string, name: string): string {
  return dir === "/" ? `/${name}` : `${dir}/${name}`;
}

function idOf(fd: number): FileId {
  const st = fstatSync(fd, { bigint: true });
  return { dev: String(st.dev), ino: String(st.ino) };
}

function closeQuietly(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    // already closed
  }
}
