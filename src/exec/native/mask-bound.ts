import type { DenyMasks } from "./deny-masks.js";

/**
 * Mounts (pins, masked files and directories) one command may get for its deny masks. bubblewrap
 * re-reads the mount table for each bind, so the cost grows with the square of the count: measured
 * with bubblewrap 0.8, 256 binds add ~60 ms to a command, 1 024 add ~700 ms, 4 096 exceed its
 * argument limit.
 */
export const MAX_MASK_MOUNTS = 256;

interface Node {
  path: string;
  /** A mask (file, matching or hidden directory): one mount, nothing below it. */
  leaf?: "file" | "dir" | "hidden";
  /** A root: bound anyway, so it costs no pin of its own. */
  root: boolean;
  children: Node[];
  cost: number;
}

/**
 * The masks with their pins (every directory between the outermost root holding a mask and the
 * mask) and at most `maxMounts` mounts in all. When there are more, the largest subtrees are hidden
 * whole instead (an empty read-only directory, listed in both `dirs` and `unscanned`): fail closed,
 * never more mounts than bubblewrap can take. Small subtrees keep their exact masks. Pure.
 *
 * A root is hidden whole only when its own direct entries need more mounts than allowed (more than
 * `maxMounts` matching names directly in it).
 */
export function boundMasks(masks: DenyMasks, roots: readonly string[], maxMounts = MAX_MASK_MOUNTS): DenyMasks {
  const outermost = [...new Set(roots)].filter((r) => !roots.some((o) => o !== r && under(r, o)));
  const nodes = new Map<string, Node>();
  const node = (path: string): Node => {
    let n = nodes.get(path);
    if (!n) nodes.set(path, (n = { path, root: roots.includes(path), children: [], cost: 0 }));
    return n;
  };
  const tops: Node[] = [];
  const add = (path: string, leaf: Node["leaf"]) => {
    const top = outermost.find((r) => path === r || under(path, r));
    if (top === undefined) return; // outside every root: nothing of it is in the sandbox
    const existed = nodes.has(path);
    const n = node(path);
    n.leaf ??= leaf; // the first kind wins: a matching directory stays a `dirs` mask
    if (existed) return; // already linked to its root
    let child = n;
    for (let p = path; p !== top; ) {
      p = parentOf(p);
      const parent = nodes.get(p);
      if (parent) {
        parent.children.push(child);
        return;
      }
      const made = node(p);
      made.children.push(child);
      child = made;
    }
    tops.push(child);
  };
  const unscanned = new Set(masks.unscanned ?? []);
  for (const d of masks.dirs) add(d, unscanned.has(d) ? "hidden" : "dir");
  for (const d of unscanned) add(d, "hidden");
  for (const f of masks.files) add(f, "file");

  // A mask below another mask cannot be mounted (the upper one is an empty read-only directory): leaves end the tree.
  const cost = (n: Node): number => {
    if (n.leaf) return (n.cost = 1);
    let c = n.root ? 0 : 1;
    for (const k of n.children) c += cost(k);
    return (n.cost = c);
  };
  let total = 0;
  for (const t of tops) total += cost(t);

  const out: DenyMasks = { files: [], dirs: [], pins: [], symlinks: [...new Set(masks.symlinks)], unscanned: [], ...(masks.ids ? { ids: masks.ids } : {}) };
  const hide = (n: Node) => {
    out.dirs.push(n.path);
    out.unscanned!.push(n.path);
    return 1;
  };
  const keepAll = (n: Node): number => {
    if (n.leaf === "file") out.files.push(n.path);
    else if (n.leaf === "dir") out.dirs.push(n.path);
    else if (n.leaf === "hidden") hide(n);
    else {
      if (!n.root) out.pins.push(n.path);
      for (const k of n.children) keepAll(k);
    }
    return n.cost;
  };
  /** Fits `n` into `budget` mounts (at least 1): small children whole, the largest ones shrunk or hidden. */
  const fit = (n: Node, budget: number): number => {
    if (n.cost <= budget) return keepAll(n);
    if (n.leaf) return keepAll(n);
    const own = n.root ? 0 : 1;
    if (n.children.length > budget - own) return hide(n);
    if (!n.root) out.pins.push(n.path);
    let left = budget - own;
    const kids = [...n.children].sort((a, b) => a.cost - b.cost);
    kids.forEach((k, i) => {
      left -= fit(k, left - (kids.length - 1 - i));
    });
    return budget - left;
  };
  if (total <= maxMounts) for (const t of tops) keepAll(t);
  else {
    // Several outermost roots share the budget the same way children do.
    let left = maxMounts;
    const sorted = [...tops].sort((a, b) => a.cost - b.cost);
    sorted.forEach((t, i) => {
      left -= fit(t, Math.max(1, left - (sorted.length - 1 - i)));
    });
  }
  return out;
}

function under(path: string, dir: string): boolean {
  return dir === "/" ? path !== "/" && path.startsWith("/") : path.startsWith(dir + "/");
}

/** The directory holding an absolute path (`/` for a top-level name). */
export function parentOf(path: string): string {
  const i = path.lastIndexOf("/");
  return i <= 0 ? "/" : path.slice(0, i);
}
