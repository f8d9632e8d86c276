/**
 * The search module lists files depth-first with each directory's entries sorted by name (bytes,
 * as strcmp), so its walk order is the component-by-component byte order of relative paths.
 * Used to merge the records of a search split into shards (`--shard=I/N`) back into the order one
 * run would have produced.
 */
export function compareWalkOrder(a: string, b: string): number {
  if (a === b) return 0;
  const pa = a.split("/");
  const pb = b.split("/");
  for (let i = 0; i < Math.min(pa.length, pb.length); i++) {
    const x = pa[i]!;
    const y = pb[i]!;
    if (x === y) continue;
    // UTF-16 order differs from UTF-8 byte order only above U+D7FF: compare bytes when not ASCII.
    // eslint-disable-next-line no-control-regex
    if (/^[\x00-\x7f]*$/.test(x + y)) return x < y ? -1 : 1;
    return Buffer.compare(Buffer.from(x), Buffer.from(y));
  }
  return pa.length - pb.length;
}

/** Merges lists already in walk order (by `key`), keeping each list's own order for equal keys. */
export function mergeWalkOrder<T>(lists: T[][], key: (item: T) => string): T[] {
  let merged = lists[0] ?? [];
  for (const next of lists.slice(1)) {
    const out: T[] = [];
    let i = 0;
    let j = 0;
    while (i < merged.length && j < next.length) {
      if (compareWalkOrder(key(next[j]!), key(merged[i]!)) < 0) out.push(next[j++]!);
      else out.push(merged[i++]!);
    }
    merged = out.concat(merged.slice(i), next.slice(j));
  }
  return merged;
}
