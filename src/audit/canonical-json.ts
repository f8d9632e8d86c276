/**
 * Canonical JSON for hashing: object keys sorted (UTF-16 code unit order) at every depth, no
 * whitespace, values as JSON.stringify writes them. Written by hand so the hash never depends on
 * the key order a writer or an editor happened to use.
 */
export function canonicalJson(value: unknown): string {
  const parts: string[] = [];
  writeCanonicalJson(value, (piece) => parts.push(piece));
  return parts.join("");
}

/**
 * The same text as canonicalJson, handed to `write` piece by piece in order, so a digest of a large
 * value never builds the whole text as one string (a 2 MB file read: 68 ms as one string, about a
 * fifth of that in pieces).
 */
export function writeCanonicalJson(value: unknown, write: (piece: string) => void): void {
  writeValue(value, write, new Map());
}

/**
 * `keys`: each object key's escaped `"key":` text, made once per value hashed (a listing repeats the
 * same three keys on every entry).
 */
function writeValue(value: unknown, write: (piece: string) => void, keys: Map<string, string>): void {
  if (typeof value === "string") {
    if (value.length > STRING_PIECE) writeLongString(value, write);
    else write(JSON.stringify(value));
    return;
  }
  if (value === null || typeof value !== "object") {
    const text = JSON.stringify(value);
    write(text === undefined ? "null" : text);
    return;
  }
  if (Array.isArray(value)) {
    write("[");
    for (let i = 0; i < value.length; i++) {
      if (!(i in value)) continue; // a hole: skipped, as forEach did
      if (i > 0) write(",");
      const item: unknown = value[i];
      if (item === undefined || typeof item === "function") write("null");
      else writeValue(item, write, keys);
    }
    write("]");
    return;
  }
  write("{");
  let first = true;
  const names = Object.keys(value);
  if (names.length > 1) names.sort();
  for (const key of names) {
    const item = (value as Record<string, unknown>)[key];
    if (item === undefined || typeof item === "function") continue;
    let head = keys.get(key);
    if (head === undefined) {
      head = `${JSON.stringify(key)}:`;
      keys.set(key, head);
    }
    write(first ? head : `,${head}`);
    first = false;
    writeValue(item, write, keys);
  }
  write("}");
}

/** Long strings are escaped in pieces of this many UTF-16 code units (one big escaped copy is slow to make and to hash). */
const STRING_PIECE = 64 * 1024;

/** JSON.stringify(text), piece by piece. */
function writeLongString(text: string, write: (piece: string) => void): void {
  write('"');
  for (const piece of escapedPieces(text, STRING_PIECE)) write(piece);
  write('"');
}

/**
 * The text JSON.stringify(text) writes between its quotes, in pieces of about `size` code units;
 * a piece never ends between the two halves of a surrogate pair (so a pair is not escaped as two
 * lone surrogates). Also used by the stdio transport to encode long strings of a reply.
 */
export function* escapedPieces(text: string, size: number): Generator<string> {
  for (let at = 0; at < text.length; ) {
    let end = Math.min(at + size, text.length);
    const last = text.charCodeAt(end - 1);
    if (end < text.length && last >= 0xd800 && last <= 0xdbff) end--;
    yield JSON.stringify(text.slice(at, end)).slice(1, -1);
    at = end;
  }
}

/** A sink for writeCanonicalJson that joins small pieces before passing them on (a hash's update is per call). */
export function batchedWriter(flush: (text: string) => void, batchChars = 16 * 1024): { write: (piece: string) => void; end: () => void } {
  let pending = "";
  return {
    write(piece) {
      if (pending.length + piece.length <= batchChars) {
        pending += piece;
        return;
      }
      if (pending) flush(pending);
      pending = "";
      if (piece.length > batchChars) flush(piece);
      else pending = piece;
    },
    end() {
      if (pending) flush(pending);
      pending = "";
    },
  };
}
